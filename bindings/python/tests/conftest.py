"""Shared fixtures: a procshare manager (a private procshared) and a
multiprocessing manager to compare it with. The header of the run names
the interpreter and the daemon in use."""

import multiprocessing
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDINGS = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(BINDINGS))
if BINDINGS not in sys.path:
    # Children started by spawn and forkserver inherit sys.path.
    sys.path.insert(0, BINDINGS)

import procshare  # noqa: E402

pytest.register_assert_rewrite("compare")


def pytest_report_header(config):
    import msgpack
    return ["python: %s %s" % (sys.executable, sys.version.split()[0]),
            "msgpack: %s, procshare: %s (%s)" % (".".join(map(str, msgpack.version)),
                                                 procshare.__version__,
                                                 os.path.dirname(procshare.__file__)),
            "procshared: %s" % procshare.find_daemon()]


def _stopped_cleanly(m):
    # Under a sanitizer build a leak or a UB report makes the daemon fail.
    assert m._proc.returncode == 0, "procshared exited with %s" % m._proc.returncode


@pytest.fixture(scope="session")
def psm():
    """A procshare manager shared by the tests of the session."""
    with procshare.Manager() as m:
        yield m
    _stopped_cleanly(m)


@pytest.fixture(scope="session")
def pym():
    """Python's own manager, the behaviour procshare is compared with."""
    with multiprocessing.Manager() as m:
        yield m


@pytest.fixture
def fresh():
    """A procshare manager (and daemon) of the test's own."""
    with procshare.Manager() as m:
        yield m
    _stopped_cleanly(m)
