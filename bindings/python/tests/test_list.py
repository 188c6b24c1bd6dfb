"""ListProxy against multiprocessing's ListProxy: indexing, slices, every
method, their exceptions and the list they leave behind."""

import collections.abc

import pytest

import procshare
from compare import same

INIT = [3, 1, 2, "x", None, [1, 2], 1]
NUMS = [5, 3, 8, 1, 3, -2, 7.5]


def _set(i, v):
    def op(l):
        l[i] = v
    return op


def _del(i):
    def op(l):
        del l[i]
    return op


def _iadd(l):
    l += [5, 6]
    return None


def _iadd_iter(l):
    l += iter("ab")
    return None


def _imul(n):
    def op(l):
        l *= n
    return op


def _empty_pop(l):
    del l[:]
    return l.pop()


OPS = {
    "getitem": lambda l: l[0],
    "getitem negative": lambda l: l[-1],
    "getitem out of range": lambda l: l[10],
    "getitem negative out of range": lambda l: l[-10],
    "getitem str": lambda l: l["a"],
    "getitem bool": lambda l: l[True],
    "getitem huge": lambda l: l[2 ** 70],
    "slice": lambda l: l[1:3],
    "slice reversed": lambda l: l[::-1],
    "slice step": lambda l: l[::2],
    "slice negative step": lambda l: l[5:1:-2],
    "slice past end": lambda l: l[10:],
    "slice clamped": lambda l: l[-100:100],
    "slice huge": lambda l: l[-2 ** 80:2 ** 80:2 ** 70],
    "slice step zero": lambda l: l[::0],
    "setitem": _set(0, 9),
    "setitem negative": _set(-1, "last"),
    "setitem out of range": _set(10, 9),
    "setslice grow": _set(slice(1, 3), [7, 7, 7]),
    "setslice shrink": _set(slice(1, 6), []),
    "setslice extended": _set(slice(None, None, 2), [0, 0, 0, 0]),
    "setslice extended wrong size": _set(slice(None, None, 2), [1]),
    "setslice not iterable": _set(slice(0, 1), 5),
    "setslice extended not iterable": _set(slice(None, None, 2), 5),
    "setslice from iterator": _set(slice(0, 0), iter([1, 2])),
    "delitem": _del(0),
    "delitem negative": _del(-2),
    "delitem out of range": _del(10),
    "delslice": _del(slice(1, 3)),
    "delslice extended": _del(slice(None, None, 2)),
    "delslice reversed": _del(slice(None, None, -3)),
    "len": len,
    "contains": lambda l: "x" in l,
    "contains nested": lambda l: [1, 2] in l,
    "contains missing": lambda l: 99 in l,
    "index": lambda l: l.index(1),
    "index start": lambda l: l.index(1, 2),
    "index start stop": lambda l: l.index(1, 2, 4),
    "index negative start": lambda l: l.index(1, -1),
    "index missing": lambda l: l.index(99),
    "count": lambda l: l.count(1),
    "count missing": lambda l: l.count(99),
    "append": lambda l: l.append({"k": [1]}),
    "extend": lambda l: l.extend([4, 5]),
    "extend iterator": lambda l: l.extend(iter([1, 2])),
    "extend not iterable": lambda l: l.extend(5),
    "insert": lambda l: l.insert(0, "first"),
    "insert middle": lambda l: l.insert(3, "mid"),
    "insert past end": lambda l: l.insert(100, "end"),
    "insert before start": lambda l: l.insert(-100, "start"),
    "insert negative": lambda l: l.insert(-1, "neg"),
    "insert huge": lambda l: l.insert(2 ** 70, "x"),
    "pop huge": lambda l: l.pop(-2 ** 70),
    "setitem huge": _set(2 ** 64, 1),
    "delitem huge": _del(2 ** 64),
    "index huge bounds": lambda l: l.index(1, -2 ** 70, 2 ** 70),
    "pop": lambda l: l.pop(),
    "pop first": lambda l: l.pop(0),
    "pop negative": lambda l: l.pop(-2),
    "pop out of range": lambda l: l.pop(99),
    "pop empty": _empty_pop,
    "remove": lambda l: l.remove(1),
    "remove missing": lambda l: l.remove(99),
    "reverse": lambda l: l.reverse(),
    "add": lambda l: l + [1],
    "add tuple": lambda l: l + (1,),
    "mul": lambda l: l * 2,
    "rmul": lambda l: 2 * l,
    "iter": list,
    "reversed": lambda l: list(reversed(l)),
    "iadd": _iadd,
    "iadd iterator": _iadd_iter,
    "imul": _imul(3),
    "imul zero": _imul(0),
    "imul one": _imul(1),
    "str": str,
}

def negabs(x):
    return -abs(x)


def first(pair):
    return pair[0]


NUM_OPS = {
    "sort": lambda l: l.sort(),
    "sort reverse": lambda l: l.sort(reverse=True),
    "sort key": lambda l: l.sort(key=negabs),
    "sort key reverse": lambda l: l.sort(key=abs, reverse=True),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_multiprocessing(pym, psm, name):
    same(pym.list(INIT), psm.list(INIT), OPS[name])


@pytest.mark.parametrize("name", sorted(NUM_OPS))
def test_sort_matches_multiprocessing(pym, psm, name):
    same(pym.list(NUMS), psm.list(NUMS), NUM_OPS[name])


def test_unorderable_sort_fails_like_python_and_changes_nothing(pym, psm):
    """Same exception type (which pair Python compares first is its own
    business); unlike Python, which may leave the list half sorted, the
    daemon leaves it unchanged (PROTOCOL.md, list.sort)."""
    py, ps = pym.list(INIT), psm.list(INIT)
    with pytest.raises(TypeError):
        py.sort()
    with pytest.raises(TypeError, match="not supported between instances of"):
        ps.sort()
    assert ps.copy() == INIT


def test_stable_sort_of_equal_keys(pym, psm):
    data = [[1, "b"], [0, "z"], [1, "a"], [0, "y"]]
    same(pym.list(data), psm.list(data), lambda l: l.sort(key=first))
    same(pym.list(data), psm.list(data), lambda l: l.sort(reverse=True))


def test_what_python_cannot_pickle_works(psm):
    """Documented superset: Python's proxies pickle arguments, so they
    refuse generators and lambdas; procshare sends values."""
    l = psm.list([3, -1, 2])
    l.extend(x * 2 for x in range(2))
    l.sort(key=lambda x: -x)
    assert l.copy() == [3, 2, 2, 0, -1]


def test_factory_arguments(pym, psm):
    for args in ((), ([],), ([1, 2],), (range(5),), ("abc",)):
        assert psm.list(*args).copy() == pym.list(*args)._getvalue()
    assert psm.list(psm.list([1, 2])).copy() == [1, 2]


def test_is_a_mutable_sequence(psm):
    l = psm.list([1, 2, 3])
    assert isinstance(l, collections.abc.MutableSequence)
    assert sorted(l) == [1, 2, 3]
    a, b, c = l
    assert (a, b, c) == (1, 2, 3)


def test_repr_in_the_style_of_python(pym, psm):
    assert repr(psm.list()).startswith("<ListProxy object, typeid 'list' at 0x")
    assert repr(pym.list()).startswith("<ListProxy object, typeid 'list' at 0x")


def test_iteration_crosses_pages(psm):
    n = 2 * procshare.proxies._SCAN_PAGE + 7
    l = psm.list(range(n))
    assert list(l) == list(range(n))
    assert sum(1 for _ in l) == n


def test_named_list_with_initial_items(psm):
    a = psm.list([1, 2], name="test_list.named")
    b = psm.list([9, 9, 9], name="test_list.named")
    assert b.copy() == [1, 2]
    b.append(3)
    assert a[-1] == 3


def test_tuples_come_back_as_lists(psm):
    l = psm.list([(1, 2)])
    l.append((3, (4,)))
    assert l.copy() == [[1, 2], [3, [4]]]
    assert (1, 2) in l and l.index((3, (4,))) == 1
