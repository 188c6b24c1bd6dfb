"""Queue and JoinableQueue against the manager's Queue proxy, threads
blocked in get while others work on the same connection, and a daemon
that dies under a blocked call."""

import os
import queue
import signal
import threading
import time

import pytest

import procshare
from compare import outcome


def wait_until(cond, timeout=10.0):
    """Waits for cond() (re-checked every few ms) or fails the test."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        tick.wait(0.002)


def blocked_calls(conn):
    """Calls in flight on conn's daemon from this process: on conn, and on
    the connections of its threads (lock and condition calls)."""
    from procshare import _connection
    return sum(len(c._pending) for c in list(_connection._live) if c.address == conn.address)


def _state(q):
    items = []
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            return items


def _put_all(q):
    out = []
    for pair in ((1, "two"), ([3], {"four": 4}), (None, b"\x05")):
        for x in pair:
            q.put(x)
        out += [q.get(), q.get()]
    return out


OPS = {
    "fifo": _put_all,
    "qsize empty full": lambda q: (q.put(1), q.qsize(), q.empty(), q.full()),
    "full": lambda q: (q.put(1), q.put(2), q.full(), q.qsize()),
    "put_nowait full": lambda q: (q.put(1), q.put(2), q.put_nowait(3)),
    "put noblock full": lambda q: (q.put(1), q.put(2), q.put(3, False)),
    "put timeout full": lambda q: (q.put(1), q.put(2), q.put(3, True, 0.05)),
    "get_nowait empty": lambda q: q.get_nowait(),
    "get noblock empty": lambda q: q.get(False),
    "get timeout empty": lambda q: q.get(timeout=0.05),
    "get timeout zero": lambda q: q.get(True, 0),
    "get with item": lambda q: (q.put("x"), q.get(timeout=5)),
    "get noblock with item": lambda q: (q.put("x"), q.get(False)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_queue_matches_multiprocessing(pym, psm, name):
    py, ps = pym.Queue(2), psm.Queue(2)
    assert outcome(OPS[name], ps) == outcome(OPS[name], py)
    assert _state(ps) == _state(py)


def test_bad_timeouts_fail_like_python(pym, psm):
    for op in (lambda q: q.get(timeout=-1), lambda q: q.put(1, timeout=-1)):
        assert outcome(op, psm.Queue(1), messages=False) == \
            outcome(op, pym.Queue(1), messages=False) == ("raise", "ValueError")


def test_joinable_queue_matches_multiprocessing(pym, psm):
    def op(q):
        q.put(1)
        q.put(2)
        out = [q.get(), q.get()]
        q.task_done()
        q.task_done()
        q.join()
        return out

    for o in (op, lambda q: q.task_done()):
        assert outcome(o, psm.JoinableQueue()) == outcome(o, pym.JoinableQueue())


def test_join_timeout_extension(psm):
    q = psm.JoinableQueue()
    q.put(1)
    with pytest.raises(procshare.Timeout):
        q.join(timeout=0.05)
    q.get()
    q.task_done()
    q.join(timeout=0)


def test_join_waits_for_task_done_in_another_thread(psm):
    q = psm.JoinableQueue()
    for i in range(3):
        q.put(i)

    def worker():
        while True:
            item = q.get()
            q.task_done()
            if item == 2:
                return

    t = threading.Thread(target=worker)
    t.start()
    q.join()
    t.join()
    assert q.empty()


def test_threads_block_on_different_calls_of_one_connection(psm):
    """Two threads wait in get on one socket while a third keeps calling;
    each wakes when its own queue gets an item."""
    conn = psm.connection
    q1, q2, d = psm.Queue(), psm.Queue(), psm.dict()
    got = {}

    def getter(name, q):
        got[name] = q.get()

    t1 = threading.Thread(target=getter, args=("one", q1))
    t2 = threading.Thread(target=getter, args=("two", q2))
    t1.start()
    t2.start()
    wait_until(lambda: blocked_calls(conn) >= 2)
    for i in range(100):
        d[i] = i                    # answered while both gets wait
    assert len(d) == 100 and psm.ping() == "pong"
    q2.put("for two")
    t2.join(10)
    assert got == {"two": "for two"} and t1.is_alive()
    q1.put("for one")
    t1.join(10)
    assert got == {"one": "for one", "two": "for two"}


def test_connection_timeout_does_not_cut_blocking_calls(psm):
    conn = psm.connection
    q = psm.Queue()
    conn.timeout = 0.05
    try:
        start = time.monotonic()
        with pytest.raises(queue.Empty):
            q.get(timeout=0.3)      # the daemon's timeout, not the client's
        assert time.monotonic() - start >= 0.3
        t = threading.Thread(target=lambda: q.put("late"))
        wait_thread = threading.Thread(target=lambda: got.append(q.get()))
        got = []
        wait_thread.start()
        wait_until(lambda: blocked_calls(conn) >= 1)
        t.start()
        t.join()
        wait_thread.join(10)
        assert got == ["late"]
    finally:
        conn.timeout = None


def test_killed_daemon_wakes_a_blocked_get_promptly():
    m = procshare.Manager()
    q = m.Queue()
    failure = []

    def getter():
        try:
            q.get()
        except Exception as e:
            failure.append(e)

    t = threading.Thread(target=getter)
    t.start()
    wait_until(lambda: blocked_calls(m.connection) >= 1)
    start = time.monotonic()
    os.kill(m.pid, signal.SIGKILL)
    t.join(10)
    assert not t.is_alive() and time.monotonic() - start < 5
    assert isinstance(failure[0], procshare.ConnectionLost)
    assert "closed the connection" in str(failure[0])
    m.shutdown()


def test_stopped_daemon_answers_blocked_calls():
    m = procshare.Manager()
    q = m.Queue()
    failure = []
    t = threading.Thread(target=lambda: failure.append(outcome(lambda q: q.get(), q)))
    t.start()
    wait_until(lambda: blocked_calls(m.connection) >= 1)
    m._proc.terminate()
    t.join(10)
    assert failure[0][:2] in (("raise", "Shutdown"), ("raise", "ConnectionLost"))
    assert m._proc.wait(10) == 0
    m.shutdown()


def test_items_may_hold_proxies(psm):
    q = psm.Queue()
    l = psm.list([1])
    q.put({"list": l})
    got = q.get()["list"]
    assert isinstance(got, procshare.ListProxy) and got == l and got.copy() == [1]


def test_named_queue_and_repr(psm):
    a = psm.Queue(name="test_queue.jobs")
    b = psm.Queue(5, name="test_queue.jobs")
    a.put("job")
    assert b.get() == "job"
    assert repr(a).startswith("<QueueProxy object, typeid 'Queue' at 0x")
    assert repr(psm.JoinableQueue()).startswith(
        "<JoinableQueueProxy object, typeid 'JoinableQueue' at 0x")


def test_an_object_known_only_through_a_got_item_may_be_gone(psm):
    """Documented: get removes the item and the daemon's hold with it. An
    anonymous object that nothing else kept alive is gone by then; its
    reference reads back as a procshare.Ref rather than failing the get."""
    q = psm.Queue()
    q.put(["head", psm.list([1])])     # the only proxy of the list dies here
    psm.ping()                          # sends its release
    head, ref = q.get()
    assert head == "head" and isinstance(ref, procshare.Ref)
    kept = psm.list([2])
    q.put(kept)
    assert q.get() == kept
