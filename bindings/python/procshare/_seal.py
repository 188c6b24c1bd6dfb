"""Encrypted sessions (PROTOCOL.md 2.1 and 2.2): the client's encryption
mode, the session keys derived from the authkey and both hellos, and the
records that carry the byte stream once a session is encrypted. No sockets
and no threads: the connection layer decides when to seal and open.

The AEAD is libsodium's XChaCha20-Poly1305 (IETF), reached through ctypes
so that the client needs nothing beyond msgpack; libsodium is loaded on the
first encrypted session only, so plaintext sessions work without it. The
key derivation needs no libsodium at all: crypto_kdf_derive_from_key is
BLAKE2b with salt and personalisation, which hashlib has.
"""

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import struct
import threading

from . import errors

# Handshake flag bits (PROTOCOL.md 2.1).
FLAG_ENC_OFFER = 0x0001       # server hello: this listener can encrypt
FLAG_ENC_REQUIRED = 0x0002    # server hello: encrypted sessions only
FLAG_ENC = 0x0001             # client hello: this session is encrypted

SESSION_LABEL = b"procshare/1 session keys"
KDF_CONTEXT = b"procshr1"
SUBKEY_C2S = 1
SUBKEY_S2C = 2

KEY_LEN = 32
TAG_LEN = 16
NONCE_LEN = 24
HEAD_LEN = 4
# A record carries at most this many plaintext bytes; its length field L
# (plaintext + tag) lies in [MIN_L, MAX_L].
MAX_PLAIN = 65536
MIN_L = TAG_LEN
MAX_L = MAX_PLAIN + TAG_LEN
# Sequence numbers are u64 and must never repeat under one key.
SEQ_LIMIT = 1 << 64

MODES = ("auto", "on", "off")
ENV_MODE = "PROCSHARE_ENCRYPTION"
_SONAME = "libsodium.so.23"


# ---- the mode ------------------------------------------------------------

def resolve_mode(value=None):
    """The encryption mode, "auto", "on" or "off", from the encryption=
    keyword (a string, True, False) or, when that is None, from
    $PROCSHARE_ENCRYPTION (default "auto")."""
    source = "encryption="
    if value is None:
        value = os.environ.get(ENV_MODE) or "auto"
        source = "$" + ENV_MODE
    if value is True:
        return "on"
    if value is False:
        return "off"
    if isinstance(value, str) and value.strip().lower() in MODES:
        return value.strip().lower()
    raise ValueError("%s must be \"auto\", \"on\" or \"off\" (or True/False), not %r"
                     % (source, value))


def wants_encryption(mode, transport, server_flags, peer="the daemon"):
    """Whether a client in `mode` sets ENC in its hello, given the server
    hello's flags. Raises EncryptionUnavailable when mode "on" (or "auto"
    over TCP, which is "on") meets a daemon that does not offer it."""
    if mode == "off":
        return False
    if mode == "auto" and transport == "unix" and not server_flags & FLAG_ENC_REQUIRED:
        return False
    if not server_flags & FLAG_ENC_OFFER:
        why = "encryption=\"on\"" if mode == "on" else "TCP connections are encrypted by default"
        raise errors.EncryptionUnavailable(
            "%s does not offer encryption (its hello has flags 0x%04x) and this client "
            "requires it (%s): enable it on the daemon, or connect with encryption=\"off\""
            % (peer, server_flags, why))
    return True


# ---- libsodium -----------------------------------------------------------

_sodium = None
_sodium_lock = threading.Lock()
_ull = ctypes.c_ulonglong


def sodium():
    """libsodium, loaded and initialised on first use. Raises
    EncryptionUnavailable when it cannot be loaded."""
    global _sodium
    if _sodium is not None:
        return _sodium
    with _sodium_lock:
        if _sodium is None:
            _sodium = _load()
    return _sodium


def _load():
    name = ctypes.util.find_library("sodium") or _SONAME
    try:
        lib = ctypes.CDLL(name)
        enc = lib.crypto_aead_xchacha20poly1305_ietf_encrypt
        dec = lib.crypto_aead_xchacha20poly1305_ietf_decrypt
    except (OSError, AttributeError) as e:
        raise errors.EncryptionUnavailable(
            "this session must be encrypted, but libsodium cannot be loaded (%s): install it "
            "(Debian: apt-get install libsodium23), or connect with encryption=\"off\" to a "
            "daemon that allows plaintext sessions" % e) from None
    if lib.sodium_init() < 0:
        raise errors.EncryptionUnavailable("libsodium (%s) failed to initialise" % name)
    # encrypt(c, &clen, m, mlen, ad, adlen, nsec, npub, k) and
    # decrypt(m, &mlen, nsec, c, clen, ad, adlen, npub, k), lengths
    # unsigned long long, nsec unused (NULL). Without argtypes ctypes
    # would pass the lengths as 32-bit ints.
    enc.argtypes = [ctypes.c_char_p, ctypes.POINTER(_ull), ctypes.c_char_p, _ull,
                    ctypes.c_char_p, _ull, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    dec.argtypes = [ctypes.c_char_p, ctypes.POINTER(_ull), ctypes.c_void_p, ctypes.c_char_p,
                    _ull, ctypes.c_char_p, _ull, ctypes.c_char_p, ctypes.c_char_p]
    enc.restype = dec.restype = ctypes.c_int
    return lib


# ---- keys and records ----------------------------------------------------

def kdf(secret, subkey_id, context=KDF_CONTEXT):
    """libsodium's crypto_kdf_derive_from_key(32, subkey_id, context,
    secret), as PROTOCOL.md 2.2 spells it out."""
    return hashlib.blake2b(b"", digest_size=KEY_LEN, key=secret,
                           salt=struct.pack("<Q", subkey_id) + bytes(8),
                           person=context + bytes(8)).digest()


def session_keys(key, server_hello, client_hello):
    """(key_c2s, key_s2c) of the session these two hellos opened."""
    secret = hmac.new(key, SESSION_LABEL + server_hello + client_hello, hashlib.sha256).digest()
    return kdf(secret, SUBKEY_C2S), kdf(secret, SUBKEY_S2C)


def _nonce(seq):
    return struct.pack("<Q", seq) + bytes(NONCE_LEN - 8)


def seal_record(key, seq, plain):
    """One record (length, ciphertext, tag) of at most MAX_PLAIN bytes."""
    n = len(plain)
    if n > MAX_PLAIN:
        raise ValueError("a record holds at most %d plaintext bytes, not %d" % (MAX_PLAIN, n))
    head = struct.pack(">I", n + TAG_LEN)
    out = ctypes.create_string_buffer(n + TAG_LEN)
    outlen = _ull()
    if sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(
            out, ctypes.byref(outlen), bytes(plain), n, head, HEAD_LEN, None,
            _nonce(seq), key) != 0:
        raise errors.RecordError("libsodium failed to seal a record")
    return head + out.raw


def open_record(key, seq, record):
    """The plaintext of a whole record (bytes) expected as number seq, or
    None when it fails authentication (tampered, replayed, reordered, wrong
    key)."""
    clen = len(record) - HEAD_LEN
    if clen < TAG_LEN:
        return None
    out = ctypes.create_string_buffer(max(clen - TAG_LEN, 1))
    outlen = _ull()
    if sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, ctypes.byref(outlen), None, record[HEAD_LEN:], clen, record[:HEAD_LEN],
            HEAD_LEN, _nonce(seq), key) != 0:
        return None
    return out.raw[:outlen.value]


class Sealer:
    """The sending direction of a session. Not thread-safe: the caller
    seals under the lock that orders its sends, so that the sequence
    numbers go out in the order they were given."""

    __slots__ = ("key", "seq")

    def __init__(self, key):
        sodium()
        self.key = key
        self.seq = 0

    def seal(self, data):
        """The records carrying data, split at MAX_PLAIN bytes; nothing for
        no data. On an exception no number was used up."""
        view = memoryview(data)
        first = self.seq
        if first + (len(view) + MAX_PLAIN - 1) // MAX_PLAIN > SEQ_LIMIT:
            raise errors.RecordError("this session has sent 2**64 records: reconnect")
        out = []
        seq = first
        for start in range(0, len(view), MAX_PLAIN):
            out.append(seal_record(self.key, seq, view[start:start + MAX_PLAIN]))
            seq += 1
        self.seq = seq
        return b"".join(out)


class Opener:
    """The receiving direction of a session: takes the bytes as they come
    and gives back the plaintext of every whole record among them. A
    record whose length is out of range (checked as soon as its 4 length
    bytes are in, so a peer cannot make us buffer more than one record) or
    that fails authentication ends the session: feed raises RecordError,
    or, when good records came before the bad one in the same bytes,
    returns their plaintext and leaves the error in `failed` (raised by
    the next feed) so that the caller can act on them first."""

    __slots__ = ("key", "seq", "buf", "peer", "failed")

    def __init__(self, key, peer="the daemon"):
        sodium()
        self.key = key
        self.seq = 0
        self.buf = bytearray()
        self.peer = peer
        self.failed = None

    def feed(self, data):
        if self.failed is not None:
            raise self.failed
        buf = self.buf
        buf += data
        plain = []
        pos = 0
        try:
            while len(buf) - pos >= HEAD_LEN:
                end = pos + HEAD_LEN + self._length(buf, pos)
                if len(buf) < end:
                    break
                plain.append(self._open(bytes(buf[pos:end])))
                pos = end
        except errors.RecordError as e:
            self.failed = e
            if not plain:
                raise
        if pos:
            del buf[:pos]
        return b"".join(plain)

    def _length(self, buf, pos):
        (length,) = struct.unpack_from(">I", buf, pos)
        if not MIN_L <= length <= MAX_L:
            raise errors.RecordError(
                "encrypted record %d from %s announces %d bytes (allowed: %d to %d): the "
                "stream is corrupt or was tampered with; connection closed"
                % (self.seq, self.peer, length, MIN_L, MAX_L))
        return length

    def _open(self, record):
        if self.seq >= SEQ_LIMIT:
            raise errors.RecordError("%s sent more than 2**64 records" % self.peer)
        text = open_record(self.key, self.seq, record)
        if text is None:
            raise errors.RecordError(
                "encrypted record %d from %s failed authentication: it was tampered with, "
                "replayed, reordered or dropped in transit; connection closed"
                % (self.seq, self.peer))
        self.seq += 1
        return text

    @property
    def pending(self):
        """Bytes of an incomplete record held back."""
        return len(self.buf)
