"""Runs one operation on a multiprocessing proxy and on a procshare proxy
and describes what happened, so tests can assert both did the same."""


def outcome(op, obj, messages=True):
    """("ok", result) or ("raise", exception type name[, message])."""
    try:
        return ("ok", op(obj))
    except Exception as e:  # the exception is the outcome being compared
        if messages:
            return ("raise", type(e).__name__, str(e))
        return ("raise", type(e).__name__)


def same(py, ps, op, messages=True, state=lambda p: p._getvalue()):
    """Asserts op gives the same result or exception on both proxies, and
    leaves both referents equal."""
    got_py = outcome(op, py, messages)
    got_ps = outcome(op, ps, messages)
    assert got_ps == got_py
    assert state(ps) == state(py)
    return got_ps
