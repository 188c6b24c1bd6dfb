"""Proxies in other processes: multiprocessing children under fork, spawn
and forkserver receiving proxies (and managers) as arguments; os.fork()
children that never share the parent's socket; unrelated processes that
find objects by name through PROCSHARE_ADDRESS / PROCSHARE_AUTHKEY_FILE."""

import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

import procshare
from conftest import BINDINGS

METHODS = ["fork", "spawn", "forkserver"]


def fill(d, l, i):
    l.append(i * i)
    d["worker %d" % i] = os.getpid()


def make_nested(m, d, i):
    inner = m.list([i, "from child"])
    d[i] = {"inner": inner, "ns": m.Namespace(pid=os.getpid())}


def bump(v, ns, s, a, n):
    for _ in range(n):
        v.add(1)
    ns.seen = True
    s.add(os.getpid())
    a[0] = 42


def check_types(d, out):
    out.extend([type(d["l"]).__name__, d["l"][0], type(d["d"]).__name__, d["d"]["k"]])


def _run(ctx, target, argsets):
    procs = [ctx.Process(target=target, args=args) for args in argsets]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * len(procs)


@pytest.mark.parametrize("method", METHODS)
def test_children_fill_a_shared_list_and_dict(psm, method):
    ctx = multiprocessing.get_context(method)
    d, l = psm.dict(), psm.list()
    _run(ctx, fill, [(d, l, i) for i in range(4)])
    assert sorted(l) == [0, 1, 4, 9]
    assert sorted(d.keys()) == ["worker %d" % i for i in range(4)]
    assert os.getpid() not in d.values()


@pytest.mark.parametrize("method", METHODS)
def test_children_create_objects_with_a_passed_manager(psm, method):
    ctx = multiprocessing.get_context(method)
    d = psm.dict()
    _run(ctx, make_nested, [(psm, d, i) for i in range(2)])
    # The children have exited: what they stored lives on in the dict.
    for i in range(2):
        got = d[i]
        assert isinstance(got["inner"], procshare.ListProxy)
        assert got["inner"].copy() == [i, "from child"]
        assert got["ns"].pid != os.getpid()


@pytest.mark.parametrize("method", METHODS)
def test_every_type_works_in_children(psm, method):
    ctx = multiprocessing.get_context(method)
    v, ns, s, a = psm.Value("i", 0), psm.Namespace(), psm.set(), psm.Array("i", 2)
    _run(ctx, bump, [(v, ns, s, a, 50) for _ in range(3)])
    assert v.value == 150 and ns.seen and len(s) == 3 and a[0] == 42


@pytest.mark.parametrize("method", METHODS)
def test_nested_references_reach_children_as_proxies(psm, method):
    ctx = multiprocessing.get_context(method)
    d = psm.dict(l=psm.list(["x"]), d=psm.dict(k=1))
    out = psm.list()
    _run(ctx, check_types, [(d, out)])
    assert out.copy() == ["ListProxy", "x", "DictProxy", 1]


def _child_stress(d, key, n):
    """Each answer must be this process's own: a shared socket would hand
    answers to the wrong process."""
    for i in range(1, n + 1):
        if d.incr(key) != i:
            return 1
    return 0


def test_fork_child_uses_its_own_connection(psm):
    d = psm.dict()
    l = psm.list([1])
    parent_sock = psm.connection._sock
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = _child_stress(d, "child", 2000)
            if psm.connection._sock is parent_sock or l[0] != 1:
                status = 2
        finally:
            os._exit(status)
    mine = _child_stress(d, "parent", 2000)
    _, status = os.waitpid(pid, 0)
    assert mine == 0 and os.waitstatus_to_exitcode(status) == 0
    assert d["child"] == 2000 and d["parent"] == 2000
    assert psm.connection._sock is parent_sock


def test_fork_child_keeps_anonymous_objects_alive(psm):
    """The child retains what its proxies stand for: the parent dropping
    its own proxy does not destroy the object under the child."""
    l = psm.list(["kept"])
    to_parent, to_child = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            psm.ping()                  # reconnects, retaining l
            os.write(to_parent[1], b"x")
            os.read(to_child[0], 1)     # the parent has released its handle
            status = 0 if l.copy() == ["kept"] else 3
        finally:
            os._exit(status)
    assert os.read(to_parent[0], 1) == b"x"
    lid = l.id
    del l
    psm.ping()                          # sends the parent's release
    assert lid not in psm.connection.held
    os.write(to_child[1], b"x")
    _, status = os.waitpid(pid, 0)
    for fd in to_parent + to_child:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_forked_child_cannot_stop_the_parents_daemon(fresh):
    d = fresh.dict(a=1)
    pid = os.fork()
    if pid == 0:
        try:
            fresh.shutdown()            # the finalizer checks the pid
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert d["a"] == 1


def test_pickles_carry_no_key(psm):
    key = b"not-in-any-pickle-0123456789"
    with procshare.Manager(authkey=key) as m:
        attached = procshare.connect(m.address, key)
        d = attached.dict()
        blob = pickle.dumps(d)
        assert key not in blob
        attached.shutdown()
    blob = pickle.dumps(psm.dict())
    assert psm.connection.key not in blob


def test_unrelated_process_finds_named_objects_through_the_environment(psm):
    results = psm.dict(name="test_procs.results")
    keyfile = psm.connection.keysource[1]
    env = dict(os.environ, PROCSHARE_ADDRESS=psm.address, PROCSHARE_AUTHKEY_FILE=keyfile,
               PYTHONPATH=BINDINGS)
    code = textwrap.dedent("""
        import procshare
        m = procshare.connect()
        r = m.dict(name="test_procs.results")
        r["from"] = "another program"
        r["l"] = m.list([1, 2])
        print(m.lookup("test_procs.results")["from"])
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "another program\n"
    assert results["from"] == "another program" and results["l"].copy() == [1, 2]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_key_given_to_connect_reaches_started_children(method):
    """A key given as bytes is not in ordinary pickles, but multiprocessing
    hands it to the children it starts, as it does its own authkey."""
    key = b"a key given as bytes"
    with procshare.Manager(authkey=key) as m:
        attached = procshare.connect(m.address, key)
        d, l = attached.dict(), attached.list()
        _run(multiprocessing.get_context(method), fill, [(d, l, 3)])
        assert l.copy() == [9] and len(d) == 1
        attached.shutdown()
