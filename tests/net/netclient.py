"""The Python side of the network tests (tests/net): a procshare client
driven line by line over stdin and stdout, speaking exactly the lines of
netclient.c (see its opening comment), so that a test can put either
language on either end of a link.

It connects with procshare.connect(), which takes PROCSHARE_ADDRESS,
PROCSHARE_AUTHKEY_FILE and PROCSHARE_ENCRYPTION from the environment, and
prints "ready ENCRYPTED" (1 or 0), or "fail CODE: TEXT" and exits 1.
"""

import os
import queue
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bindings", "python"))

import procshare  # noqa: E402

CALL_TIMEOUT = 30.0     # a hung daemon fails the test, not hangs it


def _code(exc):
    if isinstance(exc, KeyError):
        return "KeyError"
    if isinstance(exc, queue.Empty):
        return "Empty"
    return getattr(exc, "code", type(exc).__name__)


def _enc(m):
    return "%d" % m.encrypted


def _dset(m, name, key, value):
    m.dict(name=name)[key] = value
    return ""


def _dget(m, name, key):
    return m.dict(name=name)[key]


def _qput(m, name, value):
    m.Queue(name=name).put(value)
    return ""


def _qget(m, name, timeout):
    item = m.Queue(name=name).get(True, float(timeout))
    return "None" if item is None else str(item)


def _acquire(m, name, timeout):
    timeout = float(timeout)
    r = m.Lock(name=name).acquire_result(True, None if timeout < 0 else timeout)
    return "%d %d %d %.6f" % (r.acquired, r.token, r.abandoned, time.monotonic())


def _release(m, name):
    m.Lock(name=name).release()
    return ""


# name: (function, number of arguments)
COMMANDS = {"enc": (_enc, 0), "dset": (_dset, 3), "dget": (_dget, 2), "qput": (_qput, 2),
            "qget": (_qget, 2), "acquire": (_acquire, 2), "release": (_release, 1)}


def answer(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main():
    try:
        m = procshare.connect(timeout=CALL_TIMEOUT)
    except Exception as exc:  # every failure is reported to the test
        answer("fail %s: %s" % (_code(exc), exc))
        return 1
    answer("ready %d" % m.encrypted)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        run, nargs = COMMANDS.get(words[0], (None, 0))
        if run is None:
            answer("err Usage: unknown command %s" % words[0])
            continue
        if len(words) != nargs + 1:
            answer("err Usage: %s takes %d arguments" % (words[0], nargs))
            continue
        try:
            result = run(m, *words[1:])
        except Exception as exc:
            answer("err %s: %s" % (_code(exc), exc))
        else:
            answer(("ok " + result) if result else "ok")
    m.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
