"""Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and Barrier
against the manager's proxies; threads waiting on one connection while
others notify; processes sharing them, and holders that die."""

import multiprocessing
import os
import threading

import pytest

from compare import outcome
from test_queue import blocked_calls, wait_until

METHODS = ["fork", "spawn", "forkserver"]


def _seq(*steps):
    """An op running steps in order and returning each one's outcome, so
    that a failure in the middle is compared too."""
    def op(obj):
        return [outcome(step, obj) for step in steps]
    return op


def _with(lock):
    with lock:
        return "inside"


LOCK_OPS = {
    "acquire release": _seq(lambda l: l.acquire(), lambda l: l.release()),
    "busy": _seq(lambda l: l.acquire(), lambda l: l.acquire(False),
                 lambda l: l.acquire(timeout=0.01), lambda l: l.acquire(True, 0)),
    "release unlocked": _seq(lambda l: l.release()),
    "timeout without blocking": _seq(lambda l: l.acquire(False, 1)),
    "negative timeout": _seq(lambda l: l.acquire(True, -5)),
    "with": _seq(_with, lambda l: l.acquire(False), lambda l: l.release()),
}

RLOCK_OPS = {
    "reenter": _seq(lambda l: l.acquire(), lambda l: l.acquire(False), lambda l: l.release(),
                    lambda l: l.release(), lambda l: l.release()),
    "with": _seq(_with, lambda l: l.release()),
}

SEMAPHORE_OPS = {
    "count": _seq(lambda s: s.acquire(), lambda s: s.acquire(), lambda s: s.acquire(False),
                  lambda s: s.acquire(timeout=0.01), lambda s: s.release(),
                  lambda s: s.acquire(timeout=0.01)),
    "over release": _seq(lambda s: s.release(), lambda s: s.acquire(), lambda s: s.acquire(),
                         lambda s: s.acquire(), lambda s: s.acquire(False)),
    "negative timeout": _seq(lambda s: s.acquire(), lambda s: s.acquire(),
                             lambda s: s.acquire(True, -1)),
    "with": _seq(_with),
}

BOUNDED_OPS = {
    "over release": _seq(lambda s: s.release()),
    "count": _seq(lambda s: s.acquire(), lambda s: s.release(), lambda s: s.release()),
}


def _cond_wait(c):
    with c:
        return c.wait(0.01)


def _cond_wait_for(c):
    with c:
        return [c.wait_for(lambda: 5), c.wait_for(lambda: 0, 0.01)]


def _cond_notify(c):
    with c:
        c.notify()
        c.notify(3)
        c.notify_all()


CONDITION_OPS = {
    "wait unlocked": _seq(lambda c: c.wait(0.01)),
    "notify unlocked": _seq(lambda c: c.notify()),
    "notify_all unlocked": _seq(lambda c: c.notify_all()),
    "wait timeout": _seq(_cond_wait),
    "wait_for": _seq(_cond_wait_for),
    "notify": _seq(_cond_notify),
    "acquire release": _seq(lambda c: c.acquire(), lambda c: c.acquire(), lambda c: c.release(),
                            lambda c: c.release(), lambda c: c.release()),
}

EVENT_OPS = {
    "flag": _seq(lambda e: e.is_set(), lambda e: e.wait(0.01), lambda e: e.set(),
                 lambda e: e.is_set(), lambda e: e.wait(), lambda e: e.wait(0),
                 lambda e: e.clear(), lambda e: e.is_set(), lambda e: e.wait(-1)),
}

BARRIER_OPS = {
    "properties": _seq(lambda b: b.parties, lambda b: b.n_waiting, lambda b: b.broken),
    "timeout breaks": _seq(lambda b: b.wait(0), lambda b: b.broken, lambda b: b.wait(),
                           lambda b: b.reset(), lambda b: b.broken),
    "abort": _seq(lambda b: b.abort(), lambda b: b.broken, lambda b: b.wait(1),
                  lambda b: b.reset(), lambda b: b.broken, lambda b: b.n_waiting),
    "negative timeout": _seq(lambda b: b.wait(-1), lambda b: b.broken),
}

CASES = ([("Lock", (), n, op) for n, op in LOCK_OPS.items()] +
         [("RLock", (), n, op) for n, op in RLOCK_OPS.items()] +
         [("Semaphore", (2,), n, op) for n, op in SEMAPHORE_OPS.items()] +
         [("BoundedSemaphore", (1,), n, op) for n, op in BOUNDED_OPS.items()] +
         [("Condition", (), n, op) for n, op in CONDITION_OPS.items()] +
         [("Event", (), n, op) for n, op in EVENT_OPS.items()] +
         [("Barrier", (2,), n, op) for n, op in BARRIER_OPS.items()])


@pytest.mark.parametrize("factory,args,name,op", CASES,
                         ids=["%s-%s" % (c[0], c[2]) for c in CASES])
def test_matches_multiprocessing(pym, psm, factory, args, name, op):
    got_py = outcome(op, getattr(pym, factory)(*args))
    got_ps = outcome(op, getattr(psm, factory)(*args))
    assert got_ps == got_py


def test_reprs_in_the_style_of_python(pym, psm):
    for factory, args, cls in (("Lock", (), "AcquirerProxy"), ("RLock", (), "AcquirerProxy"),
                               ("Semaphore", (), "AcquirerProxy"),
                               ("Condition", (), "ConditionProxy"), ("Event", (), "EventProxy"),
                               ("Barrier", (2,), "BarrierProxy")):
        want = "<%s object, typeid %r at 0x" % (cls, factory)
        assert repr(getattr(pym, factory)(*args)).startswith(want)
        assert repr(getattr(psm, factory)(*args)).startswith(want)
    assert str(psm.Event()).endswith(": unset>")
    assert str(psm.Barrier(3)).endswith(": waiters=0/3>")


def test_procshare_extensions(psm):
    l = psm.Lock()
    first = l.acquire_result()
    assert first.acquired and not first.abandoned and l.locked()
    l.release()
    assert l.acquire_result().token > first.token
    s = psm.Semaphore(0)
    s.release(3)
    assert [s.acquire(False) for _ in range(4)] == [True, True, True, False]
    with pytest.raises(ValueError, match="action"):
        psm.Barrier(2, action=print)
    with pytest.raises(TypeError):
        psm.Condition(psm.Semaphore())


def test_condition_over_a_given_lock(psm):
    lock = psm.Lock()
    c = psm.Condition(lock)
    with c:
        assert lock.locked()
        assert c.wait(0) is False
    assert not lock.locked()


def test_one_thread_waits_while_another_notifies(psm):
    c = psm.Condition()
    state = psm.dict(ready=False)
    woke = []

    def waiter():
        with c:
            woke.append(c.wait_for(lambda: state["ready"], timeout=30))

    t = threading.Thread(target=waiter)
    t.start()
    wait_until(lambda: blocked_calls(psm.connection) >= 1)
    with c:
        state["ready"] = True
        c.notify()
    t.join(30)
    assert woke == [True]


def test_notify_wakes_waiters_in_order(psm):
    c = psm.Condition()
    order = []
    threads = []
    for i in range(3):
        def waiter(i=i):
            with c:
                c.wait()
                order.append(i)
        threads.append(threading.Thread(target=waiter))
        threads[-1].start()
        wait_until(lambda: blocked_calls(psm.connection) >= i + 1)
    for _ in range(3):
        with c:
            c.notify()
    for t in threads:
        t.join(30)
    assert order == [0, 1, 2]


def test_event_and_barrier_across_threads(psm):
    e, b = psm.Event(), psm.Barrier(3, timeout=30)
    out = []

    def party():
        e.wait()
        out.append(b.wait())

    threads = [threading.Thread(target=party) for _ in range(2)]
    for t in threads:
        t.start()
    wait_until(lambda: blocked_calls(psm.connection) >= 2)
    e.set()
    out.append(b.wait())
    for t in threads:
        t.join(30)
    assert sorted(out) == [0, 1, 2]


def count_with_lock(lock, v, n):
    for _ in range(n):
        with lock:
            v.value = v.value + 1       # a read and a write: needs the lock


def wait_then_cross(e, b, out):
    e.wait()
    out.append(b.wait())


def limited(sem, active, peak, lock):
    with sem:
        with lock:
            active.value += 1
            peak.value = max(peak.value, active.value)
        with lock:
            active.value -= 1


def die_holding(lock):
    lock.acquire()
    os._exit(0)


@pytest.mark.parametrize("method", METHODS)
def test_lock_protected_counter_in_processes(psm, method):
    ctx = multiprocessing.get_context(method)
    lock, v = psm.Lock(), psm.Value("i", 0)
    procs = [ctx.Process(target=count_with_lock, args=(lock, v, 100)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert v.value == 300


@pytest.mark.parametrize("method", METHODS)
def test_event_barrier_semaphore_in_processes(psm, method):
    ctx = multiprocessing.get_context(method)
    e, b, out = psm.Event(), psm.Barrier(3, timeout=60), psm.list()
    sem, active, peak, lock = psm.BoundedSemaphore(2), psm.Value("i"), psm.Value("i"), psm.RLock()
    procs = [ctx.Process(target=wait_then_cross, args=(e, b, out)) for _ in range(3)]
    procs += [ctx.Process(target=limited, args=(sem, active, peak, lock)) for _ in range(4)]
    for p in procs:
        p.start()
    e.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 7
    assert sorted(out) == [0, 1, 2]
    assert 1 <= peak.value <= 2 and active.value == 0


def test_lock_of_a_dead_holder_is_released_and_marked(psm):
    lock = psm.Lock()
    p = multiprocessing.get_context("fork").Process(target=die_holding, args=(lock,))
    p.start()
    p.join(60)
    got = lock.acquire_result(timeout=30)
    assert got.acquired and got.abandoned
    lock.release()


def test_locks_belong_to_threads(psm):
    """As with threading's (and the manager's) locks, an RLock or a
    Condition held by one thread is not held by another thread of the same
    process; each thread other than the first calls on its own connection."""
    r = psm.RLock()
    c = psm.Condition()
    r.acquire()
    c.acquire()
    got = []
    t = threading.Thread(target=lambda: got.extend([r.acquire(False), c.acquire(False),
                                                    outcome(lambda x: x.release(), r)]))
    t.start()
    t.join(30)
    assert got == [False, False, ("raise", "RuntimeError", "cannot release un-acquired lock")]
    r.release()
    c.release()


def test_a_thread_that_ends_gives_back_its_locks(psm):
    """Documented difference: the thread's connection closes when it ends,
    so a lock it still held is released and the next holder is told."""
    lock = psm.Lock()
    t = threading.Thread(target=lock.acquire)
    t.start()
    t.join(30)
    got = lock.acquire_result(timeout=30)
    assert got.acquired and got.abandoned
    lock.release()


class Interrupted(Exception):
    pass


def test_interrupted_acquire_gives_the_lock_back(psm):
    """A caller interrupted (Ctrl-C) while waiting for a lock does not keep
    it when the daemon hands it over afterwards: it is given back."""
    import signal
    lock = psm.Lock()
    held, release, done = threading.Event(), threading.Event(), []

    def holder():
        lock.acquire()
        held.set()
        release.wait(30)
        lock.release()
        done.append(lock.acquire(timeout=30))   # free again once given back
        lock.release()

    def interrupt(signum, frame):
        raise Interrupted()

    t = threading.Thread(target=holder)
    t.start()
    held.wait(30)
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            lock.acquire()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    release.set()
    # The daemon gives the lock to the abandoned acquire; the answer makes
    # the connection queue a release, sent with its next request.
    wait_until(lambda: psm.connection._deferred or not t.is_alive())
    psm.ping()
    t.join(30)
    assert done == [True]
