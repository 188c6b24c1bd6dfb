"""The wire layer against proto/vectors and PROTOCOL.md: handshake records
byte for byte, request encoding, address strings, refusals."""

import os
import socket
import threading

import msgpack
import pytest

from conftest import REPO
import procshare
from procshare import _connection, _wire


def vectors(name):
    out = {}
    with open(os.path.join(REPO, "proto", "vectors", name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = bytes.fromhex(v.strip())
    return out


def test_handshake_records_match_vectors():
    v = vectors("handshake.txt")
    hello = _wire.client_hello(v["key"], v["server_hello"], v["client_nonce"])
    assert hello == v["client_hello"]
    assert b"PSOK" + _wire.server_proof(v["key"], v["server_hello"], hello) == v["accept"]


def test_refusal_vector_maps_to_auth_failed():
    v = vectors("handshake.txt")
    a, b = socket.socketpair()
    try:
        a.sendall(v["refuse"])
        with pytest.raises(procshare.AuthFailed, match="wrong authkey"):
            _wire.handshake(b, v["key"])
    finally:
        a.close()
        b.close()


def test_server_with_wrong_proof_is_refused():
    """A peer that does not hold the key cannot pass for the daemon."""
    v = vectors("handshake.txt")
    a, b = socket.socketpair()

    def fake_server():
        a.sendall(v["server_hello"])
        a.recv(_wire.CLIENT_HELLO_LEN)
        a.sendall(b"PSOK" + bytes(32))

    t = threading.Thread(target=fake_server)
    t.start()
    try:
        with pytest.raises(procshare.AuthFailed, match="proof"):
            _wire.handshake(b, v["key"])
    finally:
        t.join()
        a.close()
        b.close()


def test_request_encoding_matches_vectors():
    v = vectors("messages.txt")
    for name, (msgid, method, params) in {
            "ping_request": (1, "ping", []),
            "open_request": (2, "open", ["dict", "jobs", True, []]),
            "dict_set_request": (3, "dict.set", [7, "answer", 42])}.items():
        body = msgpack.packb(method) + msgpack.packb(params, use_bin_type=True)
        assert _connection._REQUEST_HEAD + msgpack.packb(msgid) + body == v[name], name


def test_reference_encoding():
    assert msgpack.packb(_connection.encode_ref(0x0102030405060708)) == \
        bytes.fromhex("d7010102030405060708")


@pytest.mark.parametrize("text,parsed", [
    ("unix:/run/p.sock", ("unix", "/run/p.sock")),
    ("/tmp/x.sock", ("unix", "/tmp/x.sock")),
    ("./rel.sock", ("unix", "./rel.sock")),
    ("tcp://localhost:7000", ("tcp", "localhost", 7000)),
    ("127.0.0.1:7000", ("tcp", "127.0.0.1", 7000)),
    ("[::1]:7000", ("tcp", "::1", 7000)),
    ("tcp://[::1]:7000", ("tcp", "::1", 7000)),
    (("127.0.0.1", 7000), ("tcp", "127.0.0.1", 7000)),
])
def test_parse_address(text, parsed):
    assert _wire.parse_address(text) == parsed


@pytest.mark.parametrize("bad", ["", "unix:", "host", "::1:7000", "[::1]7000", "h:99999",
                                 "unix:/" + "x" * 200])
def test_parse_address_rejects(bad):
    with pytest.raises(ValueError):
        _wire.parse_address(bad)


def test_format_address_round_trips():
    for text in ("unix:/a/b", "tcp://h:1", "tcp://[::1]:2"):
        assert _wire.format_address(_wire.parse_address(text)) == text


def test_keyfile_strips_one_newline(tmp_path):
    for content, key in ((b"abc\n", b"abc"), (b"abc\r\n", b"abc"), (b"abc\n\n", b"abc\n"),
                         (b"abc", b"abc")):
        p = tmp_path / "k"
        p.write_bytes(content)
        assert _wire.read_keyfile(str(p)) == key
