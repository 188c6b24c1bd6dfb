"""Namespace, Value and Array against multiprocessing's proxies, and the
shared set against Python's set (SetProxy is new in Python 3.14; this
Python may not have it)."""

import collections.abc
import ctypes
import pickle

import pytest

import procshare
from compare import outcome, same


# ---- Namespace ------------------------------------------------------------

def _ns_state(ns):
    return repr(ns._getvalue())


def _setattr(ns):
    ns.x = [1, {"k": None}]


def _delattr(ns):
    del ns.a


def _delmissing(ns):
    del ns.zz


NS_OPS = {
    "getattr": lambda ns: ns.a,
    "getattr missing": lambda ns: ns.zz,
    "getattr default": lambda ns: getattr(ns, "zz", 5),
    "hasattr": lambda ns: (hasattr(ns, "a"), hasattr(ns, "zz")),
    "setattr": _setattr,
    "delattr": _delattr,
    "delattr missing": _delmissing,
    "str": str,
}


@pytest.mark.parametrize("name", sorted(NS_OPS))
def test_namespace_matches_multiprocessing(pym, psm, name):
    same(pym.Namespace(a=1, b="x"), psm.Namespace(a=1, b="x"), NS_OPS[name], state=_ns_state)


def test_namespace_attributes_named_like_proxy_members(psm):
    """Every public name is the referent's, even those of proxy helpers."""
    ns = psm.Namespace()
    ns.name, ns.id, ns.address, ns.copy = "n", 7, "a", "c"
    assert (ns.name, ns.id, ns.address, ns.copy) == ("n", 7, "a", "c")
    assert dir(ns) == ["address", "copy", "id", "name"]
    assert str(ns) == "Namespace(address='a', copy='c', id=7, name='n')"


def test_namespace_repr_and_named(psm):
    ns = psm.Namespace(name="test_simple_types.ns")
    assert repr(ns).startswith("<NamespaceProxy object, typeid 'Namespace' at 0x")
    ns.counter = 1
    assert psm.Namespace(name="test_simple_types.ns").counter == 1


# ---- Value ----------------------------------------------------------------

def _set_value(new):
    def op(v):
        v.value = new
    return op


VALUE_OPS = {
    "get": lambda new: lambda v: v.get(),
    "value": lambda new: lambda v: v.value,
    "set": lambda new: lambda v: v.set(new),
    "value setter": _set_value,
    "str": lambda new: str,
}


@pytest.mark.parametrize("code,init,new", [("i", 5, -9), ("d", 2.5, 1e300), ("l", -2 ** 40, 7),
                                           ("B", 255, 0), ("u", "é", "z"), ("c", b"x", b"\0")])
@pytest.mark.parametrize("name", sorted(VALUE_OPS))
def test_value_matches_multiprocessing(pym, psm, name, code, init, new):
    same(pym.Value(code, init), psm.Value(code, init), VALUE_OPS[name](new),
         state=lambda v: repr(v._getvalue()))


def test_value_checks_like_a_ctypes_value(psm):
    """Documented difference: multiprocessing's manager Value holds any
    object; procshare's holds its typecode's C type, as
    multiprocessing.Value does, and refuses what does not fit."""
    v = psm.Value("i", 1)
    with pytest.raises(TypeError):
        v.value = "text"
    with pytest.raises(TypeError):
        v.value = 1.5
    with pytest.raises(OverflowError):
        v.value = 2 ** 31
    assert v.value == 1
    assert psm.Value("f", 0.1).value == ctypes.c_float(0.1).value
    assert psm.Value("d", 3).value == 3.0 and isinstance(psm.Value("d", 3).value, float)
    with pytest.raises(ValueError):
        psm.Value("?", 1)


def test_value_zero_default_and_ctypes_codes(psm):
    assert psm.Value("i").value == 0
    assert psm.Value(ctypes.c_double, 1).typecode == "d"
    assert psm.Value(ctypes.c_ulonglong, 2 ** 64 - 1).value == 2 ** 64 - 1


def test_value_atomic_extensions(psm):
    v = psm.Value("i", 10)
    assert v.add(5) == 15 and v.add(-20) == -5
    with pytest.raises(OverflowError):
        v.add(2 ** 32)
    assert v.cas(-5, 7) == (True, 7)
    assert v.cas(-5, 8) == (False, 7)
    d = psm.Value("d", 1.0)
    assert d.cas(1, 2.5) == (True, 2.5)


# ---- Array ----------------------------------------------------------------

def _set_array(i, v):
    def op(a):
        a[i] = v
    return op


ARRAY_OPS = {
    "len": len,
    "getitem": lambda a: a[0],
    "getitem negative": lambda a: a[-1],
    "getitem out of range": lambda a: a[5],
    "getitem negative out of range": lambda a: a[-6],
    "getitem str": lambda a: a["x"],
    "slice": lambda a: a[1:3],
    "slice step": lambda a: a[::-2],
    "setitem": _set_array(1, 42),
    "setitem out of range": _set_array(9, 1),
    "iter": list,
    "contains": lambda a: (3 in a, 9 in a),
    "str": str,
    "getvalue": lambda a: a._getvalue(),
}


@pytest.mark.parametrize("name", sorted(ARRAY_OPS))
def test_array_matches_multiprocessing(pym, psm, name):
    same(pym.Array("i", [1, 2, 3, 4]), psm.Array("i", [1, 2, 3, 4]), ARRAY_OPS[name])


def test_array_bad_values_fail_like_python(pym, psm):
    for op in (_set_array(0, "x"), _set_array(0, 2 ** 40)):
        same(pym.Array("i", [1]), psm.Array("i", [1]), op, messages=False)


def test_array_slices_assign_sequences(psm):
    """Documented difference: Python's manager Array is an array.array,
    which takes only arrays in slice assignment; procshare's takes any
    iterable of the same length (as a ctypes array does)."""
    a = psm.Array("d", [0, 0, 0])
    a[0:2] = [1, 2.5]
    a[::-1] = (7, 8, 9)
    assert a.tolist() == [9.0, 8.0, 7.0]
    with pytest.raises(ValueError):
        a[0:2] = [1]
    assert isinstance(a, collections.abc.Sequence)
    assert a.index(8.0) == 1 and a.count(7.0) == 1


def test_array_of_zeros_and_chars(psm):
    assert psm.Array("i", 3).tolist() == [0, 0, 0]
    c = psm.Array("c", b"ab")
    assert c[0] == b"a" and c.tolist() == [b"a", b"b"]
    assert psm.Array("u", "hé")[:].tounicode() == "hé"


# ---- set ------------------------------------------------------------------

SET_INIT = [1, 2, 3, "x", (4, 5)]


def _ior(s):
    s |= {9}


def _iand(s):
    s &= {1, 2, 10}


def _isub(s):
    s -= {1}


def _ixor(s):
    s ^= {1, 11}


def _ior_list(s):
    s |= [1]


SET_OPS = {
    "len": len,
    "contains": lambda s: (1 in s, 99 in s, (4, 5) in s),
    "contains unhashable": lambda s: [1] in s,
    "add": lambda s: s.add(7),
    "add present": lambda s: s.add(1),
    "add unhashable": lambda s: s.add([1]),
    "discard": lambda s: s.discard(1),
    "discard missing": lambda s: s.discard(99),
    "remove": lambda s: s.remove(2),
    "remove missing": lambda s: s.remove(99),
    "clear": lambda s: s.clear(),
    "copy": lambda s: s.copy(),
    "update": lambda s: s.update([7], {8, 1}),
    "union": lambda s: s.union([7], "ab"),
    "intersection": lambda s: s.intersection([1, 2, 99], {2, 1}),
    "intersection none": lambda s: s.intersection(),
    "difference": lambda s: s.difference([1], [2]),
    "symmetric_difference": lambda s: s.symmetric_difference([1, 99]),
    "intersection_update": lambda s: s.intersection_update([1, 2, 3]),
    "difference_update": lambda s: s.difference_update([1], {"x"}),
    "symmetric_difference_update": lambda s: s.symmetric_difference_update({1, 98}),
    "isdisjoint": lambda s: (s.isdisjoint([98]), s.isdisjoint([1])),
    "issubset": lambda s: (s.issubset(SET_INIT + [0]), s.issubset([1])),
    "issuperset": lambda s: (s.issuperset([1, 2]), s.issuperset([0])),
    "or": lambda s: s | {0},
    "ror": lambda s: {0} | s,
    "and": lambda s: s & {1, 0},
    "sub": lambda s: s - {1},
    "rsub": lambda s: {1, 0} - s,
    "xor": lambda s: s ^ {1, 0},
    "ior": _ior,
    "iand": _iand,
    "isub": _isub,
    "ixor": _ixor,
    "le": lambda s: (s <= set(SET_INIT), s <= {1}),
    "lt": lambda s: (s < set(SET_INIT), s < set(SET_INIT + [0])),
    "ge": lambda s: (s >= {1}, s >= {0}),
    "gt": lambda s: (s > {1}, s > set(SET_INIT)),
    "iter": lambda s: sorted(map(str, s)),
    "str of one": lambda s: (s.clear(), s.add(1), str(s)),
}


@pytest.mark.parametrize("name", sorted(SET_OPS))
def test_set_matches_python_set(psm, name):
    op = SET_OPS[name]
    py = set(SET_INIT)
    ps = psm.set(SET_INIT)

    def run(target):
        got = outcome(op, target)
        return got

    got_py = run(py)
    got_ps = run(ps)
    if got_py[0] == "ok" and isinstance(got_py[1], (set, frozenset)):
        assert got_ps[0] == "ok" and isinstance(got_ps[1], set)
    assert got_ps == got_py
    assert ps.copy() == py


@pytest.mark.parametrize("op", [lambda s: s | [1], _ior_list, lambda s: s <= [1]])
def test_set_operators_refuse_non_sets_like_python(psm, op):
    assert outcome(op, psm.set([1]), messages=False) == outcome(op, {1}, messages=False) \
        == ("raise", "TypeError")


def test_set_pop_and_operand_proxies(psm):
    s = psm.set([1, 2])
    t = psm.set([2, 3])
    assert s | t == {1, 2, 3} and s & t == {2} and s - t == {1}
    assert s.issubset(s) and not s.isdisjoint(t)
    s.update(t)
    assert s.copy() == {1, 2, 3}
    s.symmetric_difference_update(s)
    assert len(s) == 0
    with pytest.raises(KeyError):
        s.pop()
    t.add("last")
    assert t.pop() == "last"
    assert psm.set(t).copy() == {2, 3}
    assert isinstance(t, collections.abc.MutableSet)
    assert repr(t).startswith("<SetProxy object, typeid 'set' at 0x")


def test_references_read_back_as_typed_proxies(psm):
    d = psm.dict(ns=psm.Namespace(b=1), v=psm.Value("i", 3), a=psm.Array("i", 2),
                 s=psm.set([1]))
    got = d.copy()
    assert {k: type(x) for k, x in got.items()} == {
        "ns": procshare.NamespaceProxy, "v": procshare.ValueProxy,
        "a": procshare.ArrayProxy, "s": procshare.SetProxy}
    assert got["v"].value == 3 and got["a"].typecode == "i" and got["ns"].b == 1
    assert str(got["v"]) == "Value('i', 3)"
    v2 = pickle.loads(pickle.dumps(got["v"]))
    assert v2 == got["v"] and v2.value == 3
