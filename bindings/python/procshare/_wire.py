"""The bytes on the wire below MessagePack-RPC: address strings, authkey
files, opening a socket and the authkey handshake with its encryption
negotiation (PROTOCOL.md sections 1, 2 and 2.1; the records of an encrypted
session are _seal's). No threads and no state: the connection layer builds
on this.
"""

import hashlib
import hmac
import os
import secrets
import socket
import struct

from . import _seal, errors

PROTO_VERSION = 1
SERVER_HELLO_LEN = 40
CLIENT_HELLO_LEN = 72
ACCEPT_LEN = 36
REFUSAL_MAX = 1024
CLIENT_LABEL = b"procshare/1 client proof"
SERVER_LABEL = b"procshare/1 server proof"
UNIX_PATH_MAX = 107
# A daemon drops a peer that has not authenticated within 5 s, so waiting
# much longer for a connection and its handshake is waiting in vain.
CONNECT_TIMEOUT = 10.0


def parse_address(address):
    """Normalises an address to ("unix", path) or ("tcp", host, port).

    Accepts the strings of PROTOCOL.md section 1 ("unix:/path", "/path",
    "./rel", "tcp://host:port", "host:port", "[v6]:port") and, as
    multiprocessing does, a (host, port) tuple."""
    if isinstance(address, tuple) and len(address) == 2:
        return ("tcp", str(address[0]), int(address[1]))
    if isinstance(address, bytes):
        address = os.fsdecode(address)
    if not isinstance(address, str) or not address:
        raise ValueError("bad address %r" % (address,))
    path = None
    if address.startswith("unix:"):
        path = address[5:]
    elif address[0] in "/.":
        path = address
    if path is not None:
        if not path:
            raise ValueError("bad address %r: empty socket path" % address)
        if len(os.fsencode(path)) > UNIX_PATH_MAX:
            raise ValueError("bad address %r: socket path longer than %d bytes"
                             % (address, UNIX_PATH_MAX))
        return ("unix", path)
    hostport = address[6:] if address.startswith("tcp://") else address
    if hostport.startswith("["):
        host, sep, port = hostport[1:].partition("]:")
        if not sep:
            raise ValueError("bad address %r: expected [v6address]:port" % address)
    else:
        host, sep, port = hostport.rpartition(":")
        if not sep:
            raise ValueError("bad address %r: missing :port" % address)
        if ":" in host:
            raise ValueError("bad address %r: put an IPv6 address in brackets" % address)
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("bad address %r: expected host:port with port 0-65535" % address)
    return ("tcp", host, int(port))


def format_address(parsed):
    """The canonical string of a parsed address (what proxies pickle)."""
    if parsed[0] == "unix":
        return "unix:" + parsed[1]
    host = "[%s]" % parsed[1] if ":" in parsed[1] else parsed[1]
    return "tcp://%s:%d" % (host, parsed[2])


def read_keyfile(path):
    """An authkey file's bytes, with one trailing "\\n" or "\\r\\n" removed
    (editors end files with a newline; the key is what comes before)."""
    with open(path, "rb") as f:
        key = f.read()
    if key.endswith(b"\r\n"):
        key = key[:-2]
    elif key.endswith(b"\n"):
        key = key[:-1]
    return key


def open_socket(parsed, timeout=CONNECT_TIMEOUT):
    """A connected stream socket for a parsed address (blocking mode, with
    `timeout` set for the handshake)."""
    if parsed[0] == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(parsed[1])
        except BaseException:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((parsed[1], parsed[2]), timeout=timeout)
    # Requests are small and latency-bound: do not let Nagle hold them.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exact(sock, n):
    """Exactly n bytes, never more: what follows the handshake belongs to
    the MessagePack stream."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise errors.ConnectionLost(
                "the daemon closed the connection during the handshake")
        buf += chunk
    return bytes(buf)


def _read_record(sock, magic, rest):
    """Reads a record expected to start with `magic`, or a refusal (which
    is raised as its error)."""
    head = _recv_exact(sock, 4)
    if head == b"PSNO":
        (length,) = struct.unpack(">H", _recv_exact(sock, 2))
        if length > REFUSAL_MAX:
            raise errors.ProtocolError("refusal record of %d bytes" % length)
        text = _recv_exact(sock, length).decode("utf-8", "replace")
        raise errors.from_refusal(text)
    if head != magic:
        raise errors.AuthFailed("the peer is not a procshare daemon (got %r)" % head)
    return head + _recv_exact(sock, rest)


def client_hello(key, server_hello, nonce, flags=0):
    """The 72-byte client hello answering server_hello."""
    head = b"PCLI" + struct.pack(">HH", PROTO_VERSION, flags) + nonce
    proof = hmac.new(key, CLIENT_LABEL + server_hello + head, hashlib.sha256).digest()
    return head + proof


def server_proof(key, server_hello, hello):
    """The proof the daemon must send back for our client hello."""
    return hmac.new(key, SERVER_LABEL + server_hello + hello, hashlib.sha256).digest()


def handshake(sock, key, mode="auto", transport="unix", peer="the daemon"):
    """Runs the client side of the handshake on a fresh connection, asking
    for an encrypted session as `mode` ("auto", "on", "off") and the
    server hello's flags say (PROTOCOL.md 2.1). Returns (server hello,
    client hello, encrypted); the session keys come from the two hellos.
    Raises AuthFailed (or the refusal's error) when it fails, and
    EncryptionUnavailable before sending anything when the session must be
    encrypted but libsodium cannot be loaded."""
    shello = _read_record(sock, b"PSRV", SERVER_HELLO_LEN - 4)
    version, flags = struct.unpack(">HH", shello[4:8])
    if version != PROTO_VERSION:
        raise errors.AuthFailed("the daemon speaks protocol version %d, this client %d"
                                % (version, PROTO_VERSION))
    encrypted = _seal.wants_encryption(mode, transport, flags, peer)
    if encrypted:
        _seal.sodium()
    hello = client_hello(key, shello, secrets.token_bytes(32),
                         _seal.FLAG_ENC if encrypted else 0)
    sock.sendall(hello)
    try:
        accept = _read_record(sock, b"PSOK", ACCEPT_LEN - 4)
    except errors.EncryptionRequired as e:
        raise errors.EncryptionRequired(
            "%s (this client's encryption mode is \"%s\": connect with \"auto\" or \"on\")"
            % (e.message, mode)) from None
    if not hmac.compare_digest(accept[4:], server_proof(key, shello, hello)):
        raise errors.AuthFailed("the daemon's proof is wrong: it does not hold the authkey")
    return shello, hello, encrypted
