"""Exceptions of the procshare client, and the map from the daemon's error
codes (PROTOCOL.md section 7) to the exceptions Python programs expect.

Errors that Python itself has a type for arrive as that type (KeyError,
IndexError, queue.Empty, threading.BrokenBarrierError, ...), so code written
for multiprocessing's proxies catches them unchanged. Everything else is a
ProcshareError, whose subclasses also derive from the closest built-in
exception (TimeoutError, ConnectionError, AttributeError, ...).
"""

import multiprocessing
import queue
import threading


class ProcshareError(Exception):
    """A failure of procshare itself. `code` is the daemon's stable error
    code ("NoSuchObject", ...) or the client's own ("ConnectionLost")."""

    code = "ProcshareError"

    def __init__(self, message="", code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return self.message


class NoSuchObject(ProcshareError, LookupError):
    """No object has that id or name (it was deleted or released)."""
    code = "NoSuchObject"


class NoSuchMethod(ProcshareError, AttributeError):
    """The daemon does not know the method (an older daemon?)."""
    code = "NoSuchMethod"


class Exists(ProcshareError):
    """open() named an object of another type."""
    code = "Exists"


class ProtocolError(ProcshareError):
    """A message was malformed (a bug in a client or the daemon)."""
    code = "ProtocolError"


class TooLarge(ProcshareError, ValueError):
    """A message or a reply is over the daemon's size or nesting limit."""
    code = "TooLarge"


class AuthFailed(ProcshareError, multiprocessing.AuthenticationError):
    """The handshake failed: wrong authkey, or the peer is no procshared."""
    code = "AuthFailed"


class EncryptionRequired(AuthFailed):
    """The daemon serves only encrypted sessions on this listener and the
    client did not ask for one (encryption="off")."""
    code = "EncryptionRequired"


class EncryptionUnavailable(AuthFailed):
    """The session must be encrypted (encryption="on", or "auto" over TCP
    or to a daemon that requires it) but cannot be: the daemon does not
    offer encryption, or libsodium cannot be loaded here. The message says
    which."""
    code = "EncryptionUnavailable"


class RecordError(ProtocolError):
    """An encrypted record from the daemon failed authentication (tampered
    with, replayed, reordered, dropped, or sealed with another key) or
    announced an impossible length. The connection is closed: calls in
    flight fail with this error, later ones with ConnectionLost."""
    code = "RecordError"


class Timeout(ProcshareError, TimeoutError):
    """A deadline passed: the handshake, or the client's own call timeout."""
    code = "Timeout"


class LimitExceeded(ProcshareError):
    """A configured limit of the daemon refused the request."""
    code = "LimitExceeded"


class OutOfMemory(ProcshareError, MemoryError):
    """The daemon could not allocate; nothing was changed."""
    code = "OutOfMemory"


class Shutdown(ProcshareError):
    """The daemon is stopping."""
    code = "Shutdown"


class ConnectionLost(ProcshareError, ConnectionError):
    """The connection to the daemon failed or was closed: every call on it
    fails at once with this error from then on."""
    code = "ConnectionLost"


_PROCSHARE = {cls.code: cls for cls in (
    NoSuchObject, NoSuchMethod, Exists, ProtocolError, TooLarge, AuthFailed, Timeout,
    LimitExceeded, OutOfMemory, Shutdown, ConnectionLost, EncryptionRequired)}

# Codes whose Python exception carries the daemon's message.
_BUILTIN = {
    "KeyError": KeyError,
    "IndexError": IndexError,
    "ValueError": ValueError,
    "TypeError": TypeError,
    "OverflowError": OverflowError,
    "AttributeError": AttributeError,
    "RuntimeError": RuntimeError,
    "NotImplementedError": NotImplementedError,
}

# Codes whose Python exception is raised without arguments, as the queue
# and threading modules raise them.
_BARE = {
    "Empty": queue.Empty,
    "Full": queue.Full,
    "BrokenBarrierError": threading.BrokenBarrierError,
}


def from_wire(code, message):
    """The exception for the daemon's error [code, message]."""
    if not isinstance(code, str):
        return ProtocolError("malformed error from the daemon: %r" % ([code, message],))
    message = message if isinstance(message, str) else repr(message)
    if code in _BUILTIN:
        return _BUILTIN[code](message)
    if code in _BARE:
        return _BARE[code]()
    if code in _PROCSHARE:
        return _PROCSHARE[code](message)
    return ProcshareError(message, code)


def from_refusal(text):
    """The exception for a handshake refusal's "Code: explanation" text."""
    code, sep, _ = text.partition(": ")
    if not sep:
        code = "AuthFailed"
    if code == "AuthFailed" or code not in _PROCSHARE:
        return AuthFailed("daemon refused the connection: " + text, code)
    return _PROCSHARE[code]("daemon refused the connection: " + text)
