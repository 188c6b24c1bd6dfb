"""C and Python on one daemon: a libprocshare program (interop.c, built
here against the build's libprocshare.a) and this client see the same dict,
list, queue and lock, in both directions, and nested references read from
either side come back as proxies there."""

import os
import subprocess
import uuid

import pytest

import procshare
from conftest import HERE, REPO


def _build_dir():
    build = os.environ.get("PS_BUILD")
    if build:
        return build
    return os.path.dirname(procshare.find_daemon())


def _sanitized(lib):
    """A library built with SANITIZE=1 needs its runtime at link time."""
    with open(lib, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.fixture(scope="module")
def interop(tmp_path_factory):
    build = _build_dir()
    lib = os.path.join(build, "libprocshare.a")
    if not os.path.exists(lib):
        pytest.fail("%s is missing: build the C library (make) or set PS_BUILD" % lib)
    exe = str(tmp_path_factory.mktemp("interop") / "interop")
    libs = subprocess.run(["pkg-config", "--libs", "libevent", "msgpack", "libsodium"],
                          capture_output=True, text=True, check=True).stdout.split()
    cmd = ["cc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O1",
           "-I", os.path.join(REPO, "client"), os.path.join(HERE, "interop.c"), lib,
           *libs, "-pthread", "-o", exe]
    if _sanitized(lib):
        cmd[1:1] = ["-fsanitize=address,undefined"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return exe


@pytest.fixture
def env(psm):
    return dict(os.environ, PROCSHARE_ADDRESS=psm.address,
                PROCSHARE_AUTHKEY_FILE=psm.connection.keysource[1])


@pytest.fixture
def prefix():
    return "interop-" + uuid.uuid4().hex[:8]


def run_c(interop, env, *args):
    out = subprocess.run([interop, *args], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_c_writes_python_reads(psm, interop, env, prefix):
    assert run_c(interop, env, "write", prefix) == ["written=yes"]
    d = psm.dict(name=prefix + ".dict")
    assert {k: d[k] for k in ("str", "int", "double", "bytes")} == {
        "str": "from C", "int": -42, "double": 2.5, "bytes": b"\x00\xff"}
    nested = d["list"]
    assert isinstance(nested, procshare.ListProxy) and nested.copy() == [7, "inner"]
    assert psm.list(name=prefix + ".list").copy() == [1, "two", 3.5]
    q = psm.Queue(name=prefix + ".queue")
    assert q.get(timeout=10) == "job 1" and q.get(timeout=10) == 2
    ref = q.get(timeout=10)
    assert isinstance(ref, procshare.DictProxy) and ref == d and ref["str"] == "from C"
    assert q.get(timeout=10) is None


def test_python_writes_c_reads(psm, interop, env, prefix):
    d = psm.dict(name=prefix + ".pydict")
    d.update(str="from Python", int=7, float=0.25, nested=psm.list([5, 6]))
    psm.list([10, "eleven"], name=prefix + ".pylist")
    q = psm.Queue(name=prefix + ".pyqueue")
    for item in (d, "a", "b", None):
        q.put(item)
    assert run_c(interop, env, "read", prefix) == [
        "pydict.str=from Python", "pydict.int=7", "pydict.float=0.25",
        "pydict.nested.len=2", "pydict.nested[0]=5",
        "pylist.len=2", "pylist[0]=10", "pylist[1]=eleven",
        "pyqueue.ref.str=from Python", "pyqueue.item=a", "pyqueue.item=b", "pyqueue.end=None"]
    assert q.empty()


def _start(interop, env, *args):
    return subprocess.Popen([interop, *args], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_lock_held_by_c_excludes_python(psm, interop, env, prefix):
    p = _start(interop, env, "hold", prefix)
    try:
        assert p.stdout.readline() == "held=yes\n"
        lock = psm.Lock(name=prefix + ".lock")
        assert lock.acquire(False) is False and lock.locked()
        p.stdin.write("release\n")
        p.stdin.flush()
        assert p.stdout.readline() == "released=yes\n"
        got = lock.acquire_result(timeout=30)
        assert got.acquired and not got.abandoned
        lock.release()
    finally:
        p.stdin.close()
        assert p.wait(60) == 0


def test_lock_of_a_c_program_that_exits_holding_it(psm, interop, env, prefix):
    p = _start(interop, env, "hold", prefix)
    lock = psm.Lock(name=prefix + ".lock")
    assert p.stdout.readline() == "held=yes\n"
    p.stdin.write("die\n")
    p.stdin.close()
    got = lock.acquire_result(timeout=30)
    assert got.acquired and got.abandoned
    lock.release()
    assert p.wait(60) == 0


def test_lock_held_by_python_excludes_c(psm, interop, env, prefix):
    lock = psm.RLock(name=prefix + ".pylock")
    assert lock.acquire()
    p = _start(interop, env, "take", prefix)
    try:
        assert p.stdout.readline() == "try=0\n"
        lock.release()
        assert p.stdout.read().splitlines() == ["acquired=1", "abandoned=0"]
    finally:
        p.stdin.close()
        assert p.wait(60) == 0
