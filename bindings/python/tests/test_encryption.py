"""Encrypted sessions (PROTOCOL.md 2.1, 2.2): the records and keys of
proto/vectors/session.txt byte for byte, then real daemons over TCP and
Unix sockets in every encryption mode, big values in many records, and a
relay in the middle that tampers with, replays and reflects records."""

import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import procshare
from conftest import BINDINGS, REPO
from procshare import _seal, _wire

KEY = b"encryption test key"
DEADLINE = 10.0


def vectors(name):
    out = {}
    with open(os.path.join(REPO, "proto", "vectors", name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = bytes.fromhex(v.strip())
    return out


@pytest.fixture(autouse=True)
def no_mode_from_environment(monkeypatch):
    monkeypatch.delenv("PROCSHARE_ENCRYPTION", raising=False)


def wait_for(cond, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


# ---- the vectors -----------------------------------------------------------

V = vectors("session.txt")


def test_client_hello_carries_the_enc_flag():
    hello = _wire.client_hello(V["key"], V["server_hello"], V["client_nonce"], _seal.FLAG_ENC)
    assert hello == V["client_hello"]
    assert b"PSOK" + _wire.server_proof(V["key"], V["server_hello"], hello) == V["accept"]


def test_session_keys_match_vectors():
    assert _seal.kdf(V["secret"], 1) == V["key_c2s"]
    assert _seal.kdf(V["secret"], 2) == V["key_s2c"]
    assert _seal.session_keys(V["key"], V["server_hello"], V["client_hello"]) == \
        (V["key_c2s"], V["key_s2c"])


def test_records_are_sealed_byte_for_byte():
    s = _seal.Sealer(V["key_c2s"])
    assert s.seal(V["plain_c2s_0"]) == V["c2s_0"]
    assert s.seal(V["plain_c2s_1"]) == V["c2s_1"]
    assert s.seal(b"") == b"" and s.seq == 2      # no data, no record
    assert _seal.seal_record(V["key_c2s"], 2, b"") == V["c2s_2"]
    assert _seal.Sealer(V["key_s2c"]).seal(V["plain_s2c_0"]) == V["s2c_0"]


def test_records_open_however_the_bytes_arrive():
    stream = V["c2s_0"] + V["c2s_1"] + V["c2s_2"]
    want = V["plain_c2s_0"] + V["plain_c2s_1"]
    whole = _seal.Opener(V["key_c2s"])
    assert whole.feed(stream) == want and whole.seq == 3 and whole.pending == 0
    trickle = _seal.Opener(V["key_c2s"])
    got = b"".join(trickle.feed(stream[i:i + 1]) for i in range(len(stream)))
    assert got == want and trickle.seq == 3
    assert _seal.Opener(V["key_s2c"]).feed(V["s2c_0"]) == V["plain_s2c_0"]


@pytest.mark.parametrize("case", ["tampered", "replayed", "reordered", "reflected"])
def test_bad_records_are_rejected(case):
    key, seq, record = {
        "tampered": (V["key_c2s"], 1, V["tampered"]),
        "replayed": (V["key_c2s"], 1, V["c2s_0"]),
        "reordered": (V["key_c2s"], 0, V["c2s_1"]),
        "reflected": (V["key_s2c"], 1, V["c2s_1"]),
    }[case]
    assert _seal.open_record(key, seq, record) is None
    # The same through an opener that has seen the records before it.
    o = _seal.Opener(key, "the test")
    o.seq = seq
    with pytest.raises(procshare.RecordError, match="record %d from the test failed" % seq):
        o.feed(record)
    # Sanity: the vector itself opens where it belongs.
    assert _seal.open_record(V["key_c2s"], 1, V["c2s_1"]) == V["plain_c2s_1"]


def test_record_lengths_are_checked_before_the_body():
    for bad in (_seal.MIN_L - 1, _seal.MAX_L + 1, 0, 0xFFFFFFFF):
        o = _seal.Opener(V["key_c2s"])
        with pytest.raises(procshare.RecordError, match="announces %d bytes" % bad):
            o.feed(struct.pack(">I", bad))
    # At the limits, the opener waits for the rest.
    for good in (_seal.MIN_L, _seal.MAX_L):
        o = _seal.Opener(V["key_c2s"])
        assert o.feed(struct.pack(">I", good)) == b"" and o.pending == 4


def test_big_writes_are_split_into_records_of_64k():
    data = os.urandom(2 * 65536 + 1)
    s = _seal.Sealer(V["key_c2s"])
    sealed = s.seal(data)
    lengths, pos = [], 0
    while pos < len(sealed):
        (n,) = struct.unpack_from(">I", sealed, pos)
        lengths.append(n)
        pos += 4 + n
    assert lengths == [65536 + 16, 65536 + 16, 1 + 16] and s.seq == 3
    assert _seal.Opener(V["key_c2s"]).feed(sealed) == data
    with pytest.raises(ValueError):
        _seal.seal_record(V["key_c2s"], 0, bytes(65537))


def test_modes(monkeypatch):
    assert [_seal.resolve_mode(v) for v in ("auto", "on", "off", "ON", True, False)] == \
        ["auto", "on", "off", "on", "on", "off"]
    assert _seal.resolve_mode(None) == "auto"
    with pytest.raises(ValueError, match="encryption="):
        _seal.resolve_mode("yes")
    monkeypatch.setenv("PROCSHARE_ENCRYPTION", "off")
    assert _seal.resolve_mode(None) == "off"
    assert _seal.resolve_mode("on") == "on"        # the keyword wins
    monkeypatch.setenv("PROCSHARE_ENCRYPTION", "sometimes")
    with pytest.raises(ValueError, match="PROCSHARE_ENCRYPTION"):
        _seal.resolve_mode(None)


@pytest.mark.parametrize("mode,transport,flags,want", [
    ("off", "tcp", 3, False), ("off", "unix", 3, False),
    ("auto", "tcp", 1, True), ("auto", "tcp", 3, True), ("auto", "tcp", 0x8001, True),
    ("auto", "unix", 0, False), ("auto", "unix", 1, False), ("auto", "unix", 3, True),
    ("on", "unix", 1, True), ("on", "tcp", 1, True),
    ("on", "unix", 0, None), ("on", "tcp", 0xfffe, None), ("auto", "tcp", 0, None),
])
def test_negotiation(mode, transport, flags, want):
    if want is None:
        with pytest.raises(procshare.EncryptionUnavailable, match="does not offer encryption"):
            _seal.wants_encryption(mode, transport, flags)
    else:
        assert _seal.wants_encryption(mode, transport, flags) is want


def test_mode_on_closes_before_its_hello_when_not_offered(tmp_path):
    """A fake daemon whose hello offers nothing: the client sends nothing."""
    path = str(tmp_path / "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    got = []

    def serve():
        c, _ = srv.accept()
        c.sendall(b"PSRV" + struct.pack(">HH", 1, 0) + bytes(32))
        c.settimeout(DEADLINE)
        got.append(c.recv(100))
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        with pytest.raises(procshare.EncryptionUnavailable, match="does not offer encryption"):
            procshare.connect(path, KEY, encryption="on")
    finally:
        t.join()
        srv.close()
    assert got == [b""]


def test_without_libsodium_plaintext_works_and_encryption_says_why(psm):
    """In a process where libsodium cannot be found."""
    code = """if 1:
        import ctypes.util, sys
        ctypes.util.find_library = lambda name: None
        import procshare
        from procshare import _seal
        _seal._SONAME = "libsodium-that-is-not-there.so"
        m = procshare.connect(sys.argv[1], open(sys.argv[2], "rb").read())
        assert m.ping() == "pong" and not m.encrypted
        try:
            procshare.connect(sys.argv[1], open(sys.argv[2], "rb").read(), encryption="on")
        except procshare.EncryptionUnavailable as e:
            print(e)
        """
    out = subprocess.run([sys.executable, "-c", code, psm.address, psm.connection.keysource[1]],
                         env=dict(os.environ, PYTHONPATH=BINDINGS), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "libsodium cannot be loaded" in out.stdout


# ---- real daemons -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A procshared listening on a Unix socket (its manager `m` is
    connected there) and on a TCP port of 127.0.0.1."""

    def __init__(self, *args):
        for attempt in range(5):
            self.port = free_port()
            try:
                self.m = procshare.Manager(authkey=KEY, encryption="auto", daemon_args=[
                    "--listen", "tcp://127.0.0.1:%d" % self.port, *args])
                break
            except procshare.ProcshareError:
                if attempt == 4:    # the port was taken meanwhile, five times
                    raise
        self.unix = self.m.address
        self.tcp = "tcp://127.0.0.1:%d" % self.port

    def stop(self):
        self.m.shutdown()
        assert self.m._proc.returncode == 0, "procshared exited with %s" % self.m._proc.returncode


@pytest.fixture(scope="module")
def daemon():
    """Default settings: TCP required, Unix optional."""
    d = Daemon()
    yield d
    d.stop()


@pytest.fixture
def own_daemon():
    made = []

    def start(*args):
        made.append(Daemon(*args))
        return made[-1]
    yield start
    for d in made:
        d.stop()


def test_tcp_is_encrypted_by_default_and_unix_is_not(daemon):
    assert not daemon.m.encrypted           # Unix, "auto", daemon only offers
    m = procshare.connect(daemon.tcp, KEY)
    try:
        assert m.encrypted and m.encryption == "auto"
        d = m.dict(name="enc.basic")
        d["x"] = [1, "two", b"three", {"four": 4.0}]
        assert daemon.m.dict(name="enc.basic")["x"] == [1, "two", b"three", {"four": 4.0}]
        daemon.m.dict(name="enc.basic")["y"] = "from unix"
        assert d["y"] == "from unix"
    finally:
        m.shutdown()


def test_unix_with_encryption_on(daemon):
    for mode in ("on", True):
        m = procshare.connect(daemon.unix, KEY, encryption=mode)
        try:
            assert m.encrypted and m.encryption == "on"
            q = m.Queue(name="enc.unix.q")
            q.put("over unix, sealed")
            assert daemon.m.Queue(name="enc.unix.q").get(timeout=5) == "over unix, sealed"
        finally:
            m.shutdown()


def test_environment_chooses_the_mode(daemon, monkeypatch):
    monkeypatch.setenv("PROCSHARE_ENCRYPTION", "on")
    m = procshare.connect(daemon.unix, KEY)
    assert m.encrypted and m.ping() == "pong"
    m.shutdown()
    m = procshare.connect(daemon.unix, KEY, encryption="off")     # the keyword wins
    assert not m.encrypted and m.ping() == "pong"
    m.shutdown()
    monkeypatch.setenv("PROCSHARE_ENCRYPTION", "off")
    with pytest.raises(procshare.EncryptionRequired):
        procshare.connect(daemon.tcp, KEY)
    monkeypatch.setenv("PROCSHARE_ENCRYPTION", "maybe")
    with pytest.raises(ValueError, match="PROCSHARE_ENCRYPTION"):
        procshare.connect(daemon.tcp, KEY)


def test_mode_off_against_a_tcp_listener_that_requires_encryption(daemon):
    with pytest.raises(procshare.EncryptionRequired,
                       match="EncryptionRequired: this listener serves encrypted sessions only"
                       ) as e:
        procshare.connect(daemon.tcp, KEY, encryption="off")
    assert isinstance(e.value, procshare.AuthFailed) and e.value.code == "EncryptionRequired"
    assert daemon.m.ping() == "pong"


def test_mode_on_against_a_daemon_that_does_not_offer_it(own_daemon):
    d = own_daemon("--tcp-encryption", "off")
    for mode in ("on", "auto"):     # auto is "on" over TCP
        with pytest.raises(procshare.EncryptionUnavailable,
                           match="daemon at %s does not offer encryption" % d.tcp):
            procshare.connect(d.tcp, KEY, encryption=mode)
    m = procshare.connect(d.tcp, KEY, encryption="off")
    assert not m.encrypted and m.ping() == "pong"
    m.shutdown()


def test_unix_listener_that_requires_encryption(own_daemon):
    d = own_daemon("--unix-encryption", "required", "--tcp-encryption", "optional")
    assert d.m.encrypted                     # auto follows ENC_REQUIRED on Unix
    with pytest.raises(procshare.EncryptionRequired):
        procshare.connect(d.unix, KEY, encryption="off")
    m = procshare.connect(d.tcp, KEY, encryption="off")    # optional over TCP
    assert not m.encrypted and m.ping() == "pong"
    m.shutdown()
    m = procshare.connect(d.tcp, KEY)
    assert m.encrypted and m.ping() == "pong"
    m.shutdown()


def test_big_values_travel_in_many_records(daemon):
    m = procshare.connect(daemon.tcp, KEY)
    try:
        assert m.encrypted
        d = m.dict()
        big = os.urandom(6 * 1024 * 1024 + 3)        # about 97 records each way
        d["big"] = big
        assert d["big"] == big
        l = m.list(["%06d" % i * 100 for i in range(20000)])   # 12 MB in one request
        assert len(l) == 20000 and l[19999] == "019999" * 100
        assert m.connection._sealer.seq > 2 * len(big) // 65536
    finally:
        m.shutdown()


def test_threads_share_an_encrypted_connection(daemon):
    """Records sealed by many threads reach the daemon in number order."""
    m = procshare.connect(daemon.tcp, KEY)
    d = m.dict()
    errors = []

    def work(t):
        try:
            for i in range(100):
                value = os.urandom(1 + (i * 7919 + t * 104729) % 100000)
                d[(t, i % 5)] = value
                if d[(t, i % 5)] != value:
                    errors.append((t, i))
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(d) == 30
    finally:
        m.shutdown()


def test_fork_and_threads_keep_the_mode(daemon):
    m = procshare.connect(daemon.unix, KEY, encryption="on")
    d = m.dict()
    pid = os.fork()
    if pid == 0:
        try:
            d["child pid"] = os.getpid()       # reconnects
            d["child"] = d._conn.encrypted
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert d["child"] is True and d["child pid"] == pid
    seen = []
    t = threading.Thread(target=lambda: seen.append(m.connection.for_thread().encrypted))
    t.start()
    t.join()
    assert seen == [True]
    m.shutdown()


def test_spawned_children_keep_the_mode(daemon):
    """A pickled proxy brings the mode along to a process that is not a fork."""
    m = procshare.connect(daemon.unix, KEY, encryption="on")
    d = m.dict()
    code = """if 1:
        import pickle, sys
        import procshare
        d = pickle.loads(bytes.fromhex(sys.stdin.read()))
        d["spawned"] = d._conn.encrypted
        """
    blob = pickle.dumps(d)
    env = dict(os.environ, PYTHONPATH=BINDINGS, PROCSHARE_AUTHKEY=KEY.decode())
    out = subprocess.run([sys.executable, "-c", code], input=blob.hex(), env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert d["spawned"] is True
    m.shutdown()


# ---- a relay in the middle ----------------------------------------------------

def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _forward(src, dst, n, seen):
    """Passes n bytes on as they come (a refusal is shorter than an
    accept); False when src ended first."""
    while n:
        chunk = src.recv(n)
        if not chunk:
            return False
        seen.append(chunk)
        dst.sendall(chunk)
        n -= len(chunk)
    return True


class Relay:
    """A TCP relay between one client and the daemon. It passes the
    handshake through (after edit_server_hello, if set), then forwards the
    records of each direction one by one, through a one-shot action set by
    the test: action(record) -> the bytes to send instead."""

    def __init__(self, port):
        self.port = port
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.address = "tcp://127.0.0.1:%d" % self.srv.getsockname()[1]
        self.edit_server_hello = None
        self.actions = {"c2s": None, "s2c": None}
        self.records = {"c2s": 0, "s2c": 0}
        self.seen = {"c2s": [], "s2c": []}      # every byte passed on
        self.client_closed = threading.Event()
        self.socks = []
        self.threads = [threading.Thread(target=self._run, daemon=True)]
        self.threads[0].start()

    def _run(self):
        client, _ = self.srv.accept()
        upstream = socket.create_connection(("127.0.0.1", self.port))
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socks += [client, upstream]
        hello = _recv_exact(upstream, _wire.SERVER_HELLO_LEN)
        if self.edit_server_hello is not None:
            hello = self.edit_server_hello(hello)
        client.sendall(hello)
        for src, dst, skip, name in ((client, upstream, _wire.CLIENT_HELLO_LEN, "c2s"),
                                     (upstream, client, _wire.ACCEPT_LEN, "s2c")):
            t = threading.Thread(target=self._pump, args=(src, dst, skip, name), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, src, dst, skip, name):
        try:
            if not _forward(src, dst, skip, self.seen[name]):
                return
            while True:
                head = _recv_exact(src, 4)
                if head is None:
                    return
                body = _recv_exact(src, struct.unpack(">I", head)[0])
                if body is None:
                    return
                record = head + body
                action, self.actions[name] = self.actions[name], None
                out = record if action is None else action(record)
                self.seen[name].append(out)
                dst.sendall(out)
                self.records[name] += 1
        except OSError:
            pass
        finally:
            if name == "c2s":
                self.client_closed.set()
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self):
        self.srv.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)     # wakes a pump blocked in recv
            except OSError:
                pass
        for t in self.threads:
            t.join(DEADLINE)
            assert not t.is_alive(), "a relay thread is stuck"
        for s in self.socks:
            s.close()


@pytest.fixture
def relay(daemon):
    r = Relay(daemon.port)
    yield r
    r.close()


def flip(record, at=6):
    b = bytearray(record)
    b[at] ^= 0x01
    return bytes(b)


def test_the_relay_itself_changes_nothing_and_sees_no_values(relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    secret = "a value nobody on the path may read"
    assert m.encrypted and m.dict(a=secret).copy() == {"a": secret}
    assert relay.records["c2s"] >= 2 and relay.records["s2c"] >= 2
    m.shutdown()
    for direction in ("c2s", "s2c"):
        wire = b"".join(relay.seen[direction])
        assert b"dict" not in wire and secret.encode() not in wire, direction


def test_tampered_request_ends_the_session_and_the_daemon_serves_on(daemon, relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    d = m.dict(name="enc.tamper")
    d["before"] = 1
    relay.actions["c2s"] = flip
    with pytest.raises(procshare.ProtocolError, match="failed authentication"):
        d["tampered"] = 2
    with pytest.raises(procshare.ConnectionLost, match="failed authentication"):
        m.ping()
    # Nothing the tampered record asked for was done; everyone else is served.
    other = procshare.connect(daemon.tcp, KEY)
    assert other.dict(name="enc.tamper").copy() == {"before": 1}
    other.shutdown()
    assert daemon.m.ping() == "pong"
    m.shutdown()


def test_replayed_request_ends_the_session(daemon, relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    l = m.list(name="enc.replay")
    relay.actions["c2s"] = lambda record: record + record
    try:
        l.append("once")        # may be answered before the replay is seen
    except procshare.ProtocolError:
        pass
    wait_for(lambda: m.connection.broken, "the session to end")
    with pytest.raises(procshare.ConnectionLost, match="failed authentication"):
        m.ping()
    assert daemon.m.list(name="enc.replay").copy() in ([], ["once"])     # never twice
    m.shutdown()


def test_reordered_requests_end_the_session(daemon, relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    conn = m.connection
    held = []
    oid = conn.call("create", ["dict", []])
    relay.actions["c2s"] = lambda record: held.append(record) or b""
    first = conn._start("dict.set", [oid, "k", 1])
    wait_for(lambda: held, "the relay to hold back the first request")
    relay.actions["c2s"] = lambda record: record + held[0]
    second = conn._start("ping", [])
    for call in (first, second):
        with pytest.raises(procshare.ProtocolError, match="failed authentication"):
            conn._finish(call)
    m.shutdown()


def test_dropped_request_is_found_at_the_next_one(daemon, relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    conn = m.connection
    relay.actions["c2s"] = lambda record: b""
    lost = conn._start("ping", [])
    wait_for(lambda: relay.records["c2s"] == 1, "the relay to drop the request")
    with pytest.raises(procshare.ProtocolError, match="failed authentication"):
        conn.call("ping", [])
    with pytest.raises(procshare.ProtocolError, match="failed authentication"):
        conn._finish(lost)
    m.shutdown()


def test_replayed_answer_ends_the_session(relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    relay.actions["s2c"] = lambda record: record + record
    assert m.ping() == "pong"
    wait_for(lambda: m.connection.broken, "the session to end")
    with pytest.raises(procshare.ConnectionLost, match="record 1 from the daemon .* failed"):
        m.ping()
    assert relay.client_closed.wait(DEADLINE)
    m.shutdown()


def test_tampered_answer_is_rejected_and_the_client_closes(daemon, relay):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    assert m.ping() == "pong"
    relay.actions["s2c"] = flip
    with pytest.raises(procshare.RecordError, match="record 1 from the daemon at .* failed "
                       "authentication"):
        m.ping()
    with pytest.raises(procshare.ConnectionLost, match="failed authentication"):
        m.ping()
    # The client closed its side without being asked to.
    assert relay.client_closed.wait(DEADLINE)
    m.shutdown()


@pytest.mark.parametrize("action", [
    pytest.param(lambda record: struct.pack(">I", 0xFFFFFFF0) + record[4:], id="length"),
    pytest.param(lambda record: record[:4] + bytes(len(record) - 4), id="zeroed"),
])
def test_answers_that_are_not_records_are_rejected(relay, action):
    m = procshare.connect(relay.address, KEY, timeout=DEADLINE)
    relay.actions["s2c"] = action
    with pytest.raises(procshare.RecordError, match="from the daemon at %s" % relay.address):
        m.ping()
    assert relay.client_closed.wait(DEADLINE)
    m.shutdown()


def test_a_downgraded_server_hello_is_detected(daemon, relay):
    """A man in the middle clears ENC_REQUIRED so that a client in mode
    off would talk in clear: the daemon sees its hello changed."""
    relay.edit_server_hello = lambda h: h[:6] + struct.pack(">H", 0) + h[8:]
    with pytest.raises(procshare.AuthFailed, match="wrong authkey"):
        procshare.connect(relay.address, KEY, encryption="off")


def test_interrupted_send_gives_back_its_record_numbers(daemon):
    """A KeyboardInterrupt before a byte left keeps the connection usable:
    the next request must carry the number the daemon expects."""
    m = procshare.connect(daemon.tcp, KEY)
    conn = m.connection
    real = conn._sock

    class Interrupting:
        def send(self, data):
            raise KeyboardInterrupt

    with conn._wlock:
        conn._sock = Interrupting()
    try:
        seq = conn._sealer.seq
        with pytest.raises(KeyboardInterrupt):
            m.ping()
        assert conn._sealer.seq == seq and not conn.broken
    finally:
        with conn._wlock:
            conn._sock = real
    assert m.ping() == "pong" and m.ping() == "pong"
    m.shutdown()


def test_send_cut_part_way_ends_the_connection(daemon):
    m = procshare.connect(daemon.tcp, KEY)
    conn = m.connection
    real = conn._sock

    class Cutting:
        sent = 0

        def send(self, data):
            if self.sent:
                raise KeyboardInterrupt
            self.sent = real.send(data[:3])
            return self.sent

        def __getattr__(self, name):
            return getattr(real, name)

    with conn._wlock:
        conn._sock = Cutting()
    with pytest.raises(KeyboardInterrupt):
        m.ping()
    with pytest.raises(procshare.ConnectionLost, match="interrupted part-way"):
        m.ping()
    m.shutdown()
