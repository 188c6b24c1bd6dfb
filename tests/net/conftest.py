"""Fixtures of the network tests (tests/net/README.md): the header of the
run, and `net`, the namespaces and processes of one test, all gone when
the test ends however it ends."""

import os
import subprocess
import sys

import pytest

import nettools


def _version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "unavailable (%s)" % exc
    text = (r.stdout + r.stderr).strip().splitlines()
    return text[0] if text else "exit %d" % r.returncode


def pytest_report_header(config):
    return ["python: %s %s" % (sys.executable, sys.version.split()[0]),
            "procshared: %s; C client: %s" % (nettools.DAEMON, nettools.C_CLIENT),
            "ip: %s; tcpdump: %s" % (_version(["ip", "-V"]), _version(["tcpdump", "--version"])),
            "uid %d; namespaces named %s-N" % (os.geteuid(), nettools.PREFIX)]


def pytest_sessionstart(session):
    for path in (nettools.DAEMON, nettools.CLI, nettools.C_CLIENT):
        if not os.access(path, os.X_OK):
            raise pytest.UsageError("%s is not built: run scripts/run-net-tests.sh, which "
                                    "builds it" % path)


@pytest.fixture
def net():
    """Namespaces and processes of one test (nettools.Net)."""
    n = nettools.Net()
    try:
        yield n
    finally:
        n.close()
