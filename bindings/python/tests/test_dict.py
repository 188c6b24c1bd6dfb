"""DictProxy against multiprocessing's DictProxy: every method, its result,
its exception and the dict it leaves behind."""

import collections.abc
import copy
import pickle

import pytest

import procshare
from compare import same

INIT = {"a": 1, "b": [1, 2], 3: "c", None: 0.5, "n": {"x": b"\x00\xff"}}


def _setitem(d):
    d["new"] = {"k": [None, True]}


def _delitem(d):
    del d["a"]


def _delmissing(d):
    del d["zz"]


def _setlist(d):
    d[[1]] = 2


def _clear_popitem(d):
    d.clear()
    return d.popitem()


OPS = {
    "getitem": lambda d: d["a"],
    "getitem int key": lambda d: d[3],
    "getitem None key": lambda d: d[None],
    "getitem missing": lambda d: d["zz"],
    "getitem unhashable": lambda d: d[[1]],
    "setitem": _setitem,
    "setitem unhashable": _setlist,
    "delitem": _delitem,
    "delitem missing": _delmissing,
    "contains": lambda d: "a" in d,
    "contains missing": lambda d: "zz" in d,
    "contains unhashable": lambda d: [1] in d,
    "len": len,
    "iter": list,
    "keys": lambda d: d.keys(),
    "values": lambda d: d.values(),
    "items": lambda d: d.items(),
    "get": lambda d: d.get("a"),
    "get missing": lambda d: d.get("zz"),
    "get default": lambda d: d.get("zz", 5),
    "pop": lambda d: d.pop("a"),
    "pop missing": lambda d: d.pop("zz"),
    "pop default": lambda d: d.pop("zz", 7),
    "pop present with default": lambda d: d.pop("b", 7),
    "popitem": lambda d: d.popitem(),
    "popitem empty": _clear_popitem,
    "setdefault present": lambda d: d.setdefault("a", 9),
    "setdefault absent": lambda d: d.setdefault("new", 9),
    "setdefault no default": lambda d: d.setdefault("new"),
    "update dict": lambda d: d.update({"a": 2, "z": 3}),
    "update pairs": lambda d: d.update([("q", 1), ["r", 2]]),
    "update kwargs": lambda d: d.update(k=1, a=0),
    "update both": lambda d: d.update({"x": 1}, y=2),
    "update bad pair": lambda d: d.update([("a", 1, 2)]),
    "update not iterable": lambda d: d.update(5),
    "update empty": lambda d: d.update(),
    "clear": lambda d: d.clear(),
    "copy": lambda d: d.copy(),
    "str": str,
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_multiprocessing(pym, psm, name):
    same(pym.dict(INIT), psm.dict(INIT), OPS[name])


def test_update_from_another_proxy(pym, psm):
    same(pym.dict(INIT), psm.dict(INIT), lambda d: d.update(psm.dict({"p": 1})))


def test_factory_arguments(pym, psm):
    for args, kwargs in (((), {}), (({"a": 1},), {}), (([("a", 1)],), {"b": 2}), ((), {"c": 3})):
        assert psm.dict(*args, **kwargs).copy() == pym.dict(*args, **kwargs).copy()


def test_is_a_mutable_mapping(psm):
    d = psm.dict(a=1)
    assert isinstance(d, collections.abc.MutableMapping)
    assert dict(d) == {"a": 1}
    assert {**d} == {"a": 1}


def test_repr_in_the_style_of_python(pym, psm):
    assert repr(psm.dict()).startswith("<DictProxy object, typeid 'dict' at 0x")
    assert repr(pym.dict()).startswith("<DictProxy object, typeid 'dict' at 0x")


def test_insertion_order_is_kept(psm):
    d = psm.dict()
    for k in ("z", "a", "m"):
        d[k] = 0
    d["a"] = 1
    assert d.keys() == ["z", "a", "m"]
    assert d.popitem() == ("m", 0)


def test_incr_is_atomic_arithmetic(psm):
    d = psm.dict()
    assert d.incr("hits") == 1
    assert d.incr("hits", 41) == 42
    assert d.incr("f", 0.5) == 0.5
    d["s"] = "x"
    with pytest.raises(TypeError):
        d.incr("s")
    d["big"] = 2 ** 64 - 1
    with pytest.raises(OverflowError):
        d.incr("big")
    assert d["big"] == 2 ** 64 - 1


def test_documented_differences(pym, psm):
    """Keys compare by their encoding (PROTOCOL.md section 4): 1, 1.0 and
    True are different keys, unlike in Python; tuples come back as lists,
    and tuple keys come back as tuples."""
    py, ps = pym.dict({1: "int"}), psm.dict({1: "int"})
    assert py[1.0] == "int" and py[True] == "int"
    with pytest.raises(KeyError):
        ps[1.0]
    with pytest.raises(KeyError):
        ps[True]
    ps[(1, 2)] = (3, 4)
    assert ps[(1, 2)] == [3, 4]
    assert ps.keys() == [1, (1, 2)]
    assert ps.copy() == {1: "int", (1, 2): [3, 4]}
    # Equal referents do not make proxies equal (as in Python); proxies of
    # one object are equal, and copies compare by value.
    assert ps != {1: "int", (1, 2): [3, 4]}
    assert py != {1: "int"}
    assert ps.copy() == {1: "int", (1, 2): [3, 4]}


def test_values_round_trip(psm):
    d = psm.dict()
    values = [None, True, False, 0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 1.5, float("inf"),
              "", "été", b"", b"\x00\xff", [], [1, [2, [3]]], {}, {"k": {"n": None}},
              {1: "int key", b"b": "bytes key"}]
    for i, v in enumerate(values):
        d[i] = v
    assert [d[i] for i in range(len(values))] == values
    d["buffers"] = [bytearray(b"ab"), memoryview(b"cd")]
    assert d["buffers"] == [b"ab", b"cd"]
    with pytest.raises(OverflowError):
        d["x"] = 2 ** 64
    with pytest.raises(TypeError, match="cannot send a 'set'"):
        d["x"] = {1, 2}
    assert "x" not in d


def test_named_dicts_are_shared(psm):
    a = psm.dict(name="test_dict.shared")
    b = psm.dict(name="test_dict.shared")
    a["k"] = 1
    assert b["k"] == 1 and a == b and a.name == "test_dict.shared"
    # Initial items apply only when the named dict is created.
    c = psm.dict({"k": 2, "j": 3}, name="test_dict.shared")
    assert c.copy() == {"k": 1}
    e = psm.dict({"k": 2}, name="test_dict.fresh")
    assert e.copy() == {"k": 2}
    assert psm.lookup("test_dict.shared") == a
    psm.delete("test_dict.shared")
    with pytest.raises(procshare.NoSuchObject):
        psm.lookup("test_dict.shared")
    assert a["k"] == 1          # alive while proxies hold it


def test_nested_proxies(psm):
    outer = psm.dict()
    inner = psm.list([1, 2])
    outer["l"] = inner
    outer["d"] = {"deep": [psm.dict(x=1)]}
    got = outer["l"]
    assert isinstance(got, procshare.ListProxy) and got == inner
    got.append(3)
    assert inner.copy() == [1, 2, 3]
    deep = outer["d"]["deep"][0]
    assert isinstance(deep, procshare.DictProxy) and deep["x"] == 1
    # The read proxy keeps the object alive after the container drops it.
    del inner
    outer.clear()
    assert got.copy() == [1, 2, 3]


def test_pickle_and_deepcopy(psm):
    d = psm.dict(a=[1])
    e = pickle.loads(pickle.dumps(d))
    assert e == d and e["a"] == [1]
    assert copy.deepcopy(d) == {"a": [1]}


def test_iteration_walks_pages(psm):
    n = 2 * procshare.proxies._SCAN_PAGE + 3
    d = psm.dict((i, -i) for i in range(n))
    assert list(d) == list(range(n))
    assert sum(1 for _ in d.items()) == n


def test_views_past_the_message_size_come_page_by_page():
    big = "x" * (1 << 20)
    with procshare.Manager(daemon_args=["--max-message", str(2 << 20)]) as m:
        d = m.dict()
        for i in range(3):
            d[i] = big
        with pytest.raises(procshare.TooLarge):
            m.connection.call("dict.values", [d.id])
        assert d.values() == [big] * 3
        assert d.copy() == {0: big, 1: big, 2: big}
        assert len(d.items()) == 3
        l = m.list()
        for _ in range(3):
            l.append(big)
        assert l.copy() == [big] * 3
