"""The connection: many threads on one socket, handle accounting, the
manager's life cycle, authentication, and failures reported promptly."""

import gc
import os
import signal
import socket
import stat
import threading
import time

import pytest

import procshare
from procshare import _connection


def test_many_threads_share_one_connection(psm):
    d, l = psm.dict(), psm.list()
    errors = []

    def work(t):
        try:
            for i in range(300):
                key = "%d:%d" % (t, i)
                d[key] = [t, i]
                if d[key] != [t, i] or d.incr("n") < 1:
                    errors.append(key)
                l.append(t)
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(d) == 8 * 300 + 1 and d["n"] == 8 * 300
    assert sorted(l) == sorted(list(range(8)) * 300)


def test_handles_are_counted_and_released(psm):
    conn = psm.connection
    d = psm.dict()
    d["l"] = psm.list([1])
    a, b = d["l"], d["l"]
    lid = a.id
    assert a == b and conn.held[lid][0] == 2
    del a
    gc.collect()
    psm.ping()
    assert conn.held[lid][0] == 1
    del b
    gc.collect()
    psm.ping()
    assert lid not in conn.held
    # The dict still holds a reference: the list is alive.
    assert d["l"].copy() == [1]


def test_opening_a_name_twice_keeps_one_handle(psm):
    conn = psm.connection
    a = psm.list(name="test_connection.twice")
    b = psm.list(name="test_connection.twice")
    assert conn.held[a.id][0] == 2
    psm.delete("test_connection.twice")
    oid = a.id
    del a, b
    gc.collect()
    psm.ping()
    assert oid not in conn.held
    with pytest.raises(procshare.NoSuchObject):
        conn.call("typeof", [oid])


def test_open_of_another_type_is_refused(psm):
    psm.dict(name="test_connection.typed")
    with pytest.raises(procshare.Exists):
        psm.list(name="test_connection.typed")


def test_manager_starts_a_private_daemon_and_stops_it():
    m = procshare.Manager()
    path = m.address[len("unix:"):]
    keyfile = m.connection.keysource[1]
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    pid = m.pid
    d = m.dict(a=1)
    m.shutdown()
    assert m._proc.returncode == 0
    assert not os.path.exists(path) and not os.path.exists(keyfile)
    with pytest.raises(procshare.ConnectionLost):
        d["a"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_context_manager_and_repr():
    with procshare.SyncManager() as m:
        assert m.ping() == "pong"
        assert repr(m).startswith("<procshare.SyncManager unix:")
        proc = m._proc
    assert proc.returncode == 0


def test_manager_on_a_chosen_address(tmp_path):
    sock = str(tmp_path / "s.sock")
    with procshare.Manager(address=sock, authkey=b"k") as m:
        assert m.address == "unix:" + sock
        other = procshare.connect("unix:" + sock, "k")
        other.dict(name="x")["v"] = 1
        assert m.dict(name="x")["v"] == 1
        other.shutdown()
        assert m.ping() == "pong"


def test_wrong_authkey_is_refused(psm):
    with pytest.raises(procshare.AuthFailed, match="wrong authkey"):
        procshare.connect(psm.address, b"wrong key")


def test_connect_needs_an_address_and_a_key(monkeypatch):
    monkeypatch.delenv("PROCSHARE_ADDRESS", raising=False)
    with pytest.raises(procshare.ProcshareError, match="PROCSHARE_ADDRESS"):
        procshare.connect()
    monkeypatch.setenv("PROCSHARE_ADDRESS", "unix:/nonexistent/x.sock")
    monkeypatch.delenv("PROCSHARE_AUTHKEY_FILE", raising=False)
    monkeypatch.delenv("PROCSHARE_AUTHKEY", raising=False)
    with pytest.raises(procshare.AuthFailed, match="PROCSHARE_AUTHKEY_FILE"):
        procshare.connect()
    monkeypatch.setenv("PROCSHARE_AUTHKEY", "k")
    with pytest.raises(procshare.ConnectionLost, match="cannot connect"):
        procshare.connect()


def test_environment_key_and_address(psm, monkeypatch):
    monkeypatch.setenv("PROCSHARE_ADDRESS", psm.address)
    monkeypatch.setenv("PROCSHARE_AUTHKEY_FILE", psm.connection.keysource[1])
    m = procshare.connect()
    assert m.ping() == "pong"
    m.shutdown()
    monkeypatch.delenv("PROCSHARE_AUTHKEY_FILE")
    monkeypatch.setenv("PROCSHARE_AUTHKEY", psm.connection.key.decode())
    m = procshare.connect()
    assert m.ping() == "pong"
    m.shutdown()


def test_peer_that_is_not_a_daemon(tmp_path):
    path = str(tmp_path / "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        with pytest.raises(procshare.AuthFailed, match="not a procshare daemon"):
            procshare.connect(path, b"k")
    finally:
        t.join()
        srv.close()


def test_errors_map_to_python_exceptions(psm):
    conn = psm.connection
    with pytest.raises(procshare.NoSuchMethod):
        conn.call("dict.nosuch", [1])
    with pytest.raises(procshare.NoSuchObject):
        conn.call("dict.len", [2 ** 62])
    with pytest.raises(TypeError):
        conn.call("create", ["no such type", []])
    with pytest.raises(ValueError):
        psm.dict(name="")
    e = procshare.NoSuchObject("x")
    assert isinstance(e, procshare.ProcshareError) and e.code == "NoSuchObject"


def test_a_message_over_the_limit(tmp_path):
    with procshare.Manager(daemon_args=["--max-message", "4096"]) as m:
        l = m.list()
        with pytest.raises(procshare.TooLarge):
            l.append("x" * 10000)
        # The daemon closes a connection that sent too much.
        with pytest.raises(procshare.ConnectionLost, match="TooLarge"):
            l.append(1)


def test_killed_daemon_gives_a_clear_error_promptly():
    m = procshare.Manager()
    d = m.dict(a=1)
    start = time.monotonic()
    os.kill(m.pid, signal.SIGKILL)
    m._proc.wait()
    with pytest.raises(procshare.ConnectionLost, match="closed the connection"):
        d["a"]
    with pytest.raises(procshare.ConnectionLost):
        m.ping()
    assert time.monotonic() - start < 5
    m.shutdown()


def test_proxy_dying_in_any_thread_only_queues(psm):
    """__del__ may run in the reader thread; it must not send."""
    conn = psm.connection
    l = psm.list()
    before = len(conn._drops)
    l.__del__()
    assert len(conn._drops) == before + 1
    # Undo the fake death so that the real one balances.
    conn._drops.pop()


def test_call_timeout(psm):
    conn = _connection.Connection(psm.address, psm.connection.key, timeout=5)
    assert conn.call("ping", []) == "pong"
    conn.close()
    with pytest.raises(procshare.ConnectionLost, match="closed"):
        conn.call("ping", [])
