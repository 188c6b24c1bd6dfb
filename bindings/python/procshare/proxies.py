"""Proxies: Python objects that stand for objects held by the daemon, with
the methods and behaviour of multiprocessing.managers' proxies (DictProxy,
ListProxy, ...). Every method is one request (the wire methods of
PROTOCOL.md section 6), except where a comment says otherwise.

A proxy holds one counted handle on its object (see _connection); it pickles
to (address, key source, type, id) and, unpickled in any process, connects
there (one connection per process and daemon) and retains the object.
References (ext type 1) read back from the daemon become proxies of the
right type.
"""

import collections
import collections.abc
import operator
import sys
import time

from . import _connection, errors

# Entries asked for per page when walking a dict or a list (the daemon
# also ends a page at 1 MiB).
_SCAN_PAGE = 1000
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

# Wire type name -> proxy class, filled by @_wire_type.
_CLASSES = {}


def _wire_type(cls):
    _CLASSES[cls._wire] = cls
    return cls


def proxy_class(typename):
    """The proxy class for a daemon type name. A type this client does not
    know (a newer daemon) gets a bare proxy offering _callmethod."""
    cls = _CLASSES.get(typename)
    if cls is None:
        cls = type("Proxy[%s]" % typename, (BaseProxy,), {"_wire": typename})
        _CLASSES[typename] = cls
    return cls


# ---- references inside values ---------------------------------------------

def _collect_refs(v, ids):
    t = type(v)
    if t is _connection.Ref:
        ids.add(v.id)
    elif t is list or t is tuple:
        for x in v:
            _collect_refs(x, ids)
    elif t is dict:
        for k, x in v.items():
            _collect_refs(k, ids)
            _collect_refs(x, ids)


def _replace_refs(v, made):
    t = type(v)
    if t is _connection.Ref:
        return made[v.id]
    if t is list:
        for i, x in enumerate(v):
            v[i] = _replace_refs(x, made)
        return v
    if t is tuple:
        return tuple(_replace_refs(x, made) for x in v)
    if t is dict:
        return {_replace_refs(k, made): _replace_refs(x, made) for k, x in v.items()}
    return v


def resolve(conn, value):
    """Turns the references inside a decoded value into proxies (each
    retained, so it stays valid whatever happens to its container). A
    reference to an object that no longer exists stays a procshare.Ref."""
    ids = set()
    _collect_refs(value, ids)
    types = conn.adopt(dict.fromkeys(ids, 1))
    made = {oid: proxy_class(types[oid])(conn, oid) if oid in types else _connection.Ref(oid)
            for oid in ids}
    return _replace_refs(value, made)


def _rebuild(address, keysource, typename, oid, name, encryption=None):
    """Unpickles a proxy: in this process, on this process's connection
    (opened in the encryption mode of the connection it was pickled from)."""
    conn = _connection.connection_for(address, keysource, encryption)
    types = conn.adopt({oid: 1}, known={oid: typename})
    if oid not in types:
        raise errors.NoSuchObject("the %s with id %d no longer exists" % (typename, oid))
    return proxy_class(types[oid])(conn, oid, name)


_TOO_BIG_INDEX = "cannot fit 'int' into an index-sized integer"
_TOO_BIG_INT = "Python int too large to convert to C ssize_t"


def _index(i, what="list"):
    """An item index as the daemon takes it (signed 64-bit); raises what
    Python raises when it is out of that range (no list reaches it)."""
    try:
        i = operator.index(i)
    except TypeError:
        if what == "array":
            raise TypeError("array indices must be integers") from None
        raise TypeError("%s indices must be integers or slices, not %s"
                        % (what, type(i).__name__)) from None
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise IndexError(_TOO_BIG_INDEX)
    return i


def _int64(i):
    """An int argument such as insert's and pop's index."""
    i = operator.index(i)
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise OverflowError(_TOO_BIG_INT)
    return i


def _slice_bound(v):
    """A slice bound for the wire: None, or an int clamped to 64 bits (which
    does not change the slice of any list the daemon can hold)."""
    if v is None:
        return None
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError("slice indices must be integers or None or have an "
                        "__index__ method") from None
    return min(max(v, _INT64_MIN), _INT64_MAX)


def _slice_params(s):
    return [_slice_bound(s.start), _slice_bound(s.stop), _slice_bound(s.step)]


def _hashable_key(key):
    # The daemon accepts arrays as keys; Python does not accept lists.
    hash(key)
    return key


# ---- the base -------------------------------------------------------------

class BaseProxy:
    """What every proxy has: the connection, the object's id, calls, repr,
    pickling and the release of its handle when it dies."""

    _wire = None        # the daemon's type name
    _typeid = None      # the name multiprocessing gives the type

    def __init__(self, conn, oid, name=None):
        # Owns one proxy count on conn.held[oid] (taken by the caller).
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_id", oid)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_prefix", self._wire + ".")

    def __del__(self):
        try:
            self._conn.drop(self._id)
        except Exception:
            pass    # half-built proxy, or interpreter shutdown

    def _call(self, method, *params):
        """Calls type.method(id, *params) and returns its result, with the
        references in it turned into proxies."""
        result, refs = self._conn.request(self._prefix + method, [self._id, *params])
        return resolve(self._conn, result) if refs else result

    def _blocking_call(self, method, timeout, *params, on_abandon=None):
        """A call the daemon may hold for `timeout` seconds (None: as long
        as it takes) before answering."""
        result, refs = self._conn.request(self._prefix + method, [self._id, *params],
                                          on_abandon=on_abandon, may_wait=timeout)
        return resolve(self._conn, result) if refs else result

    def _callmethod(self, methodname, args=(), kwds=None):
        """multiprocessing's generic call, for wire methods this class has
        no Python method for: calls type.methodname(id, *args)."""
        if kwds:
            raise TypeError("procshare methods take no keyword arguments")
        return self._call(methodname, *args)

    def _procshare_ref(self, conn):
        # How the value encoder turns a proxy into a reference.
        if conn.address != self._conn.address:
            raise ValueError("%r belongs to the daemon at %s, not %s"
                             % (self, self._conn.address, conn.address))
        return self._id

    def _getvalue(self):
        """A copy of the referent (a plain Python value)."""
        raise NotImplementedError("%s has no value to copy" % type(self).__name__)

    @property
    def id(self):
        """The object's id: what a reference to it carries on the wire."""
        return self._id

    @property
    def name(self):
        """The name it was opened by, or None."""
        return self._name

    @property
    def address(self):
        """The address of the daemon holding the object."""
        return self._conn.address

    def __reduce__(self):
        return (_rebuild, (self._conn.address, self._conn.pickle_keysource(),
                           self._wire, self._id, self._name, self._conn.encryption))

    def __deepcopy__(self, memo):
        return self._getvalue()

    def __eq__(self, other):
        # Proxies of the same object are equal; nothing else is, as with
        # multiprocessing's proxies (compare copies to compare contents).
        if isinstance(other, BaseProxy):
            return self._id == other._id and self._conn.address == other._conn.address
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((self._conn.address, self._id))

    def __repr__(self):
        name = getattr(type(self), "_repr_name", None) or type(self).__name__
        return "<%s object, typeid %r at %#x>" % (name, self._typeid or self._wire, id(self))

    def __str__(self):
        # As multiprocessing's: the referent's repr.
        try:
            return self._referent_repr()
        except Exception:
            return repr(self)[:-1] + "; '__str__()' failed>"

    def _referent_repr(self):
        return "<%s object, id %d>" % (self._typeid or self._wire, self._id)


# ---- dict -----------------------------------------------------------------

@_wire_type
class DictProxy(BaseProxy, collections.abc.MutableMapping):
    """A shared dict, like multiprocessing's DictProxy: keys(), values() and
    items() return lists (copies), iteration walks a copy of the keys."""

    _wire = "dict"
    _typeid = "dict"

    def __getitem__(self, key):
        try:
            return self._call("getitem", _hashable_key(key))
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        self._call("set", _hashable_key(key), value)

    def __delitem__(self, key):
        try:
            self._call("del", _hashable_key(key))
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key):
        return self._call("contains", _hashable_key(key))

    def __len__(self):
        return self._call("len")

    def __iter__(self):
        # Page by page (dict.scan): a key present for the whole walk comes
        # once; keys added or removed meanwhile may or may not.
        for k in self._scan("keys"):
            yield _connection._hashable(k)

    def _scan(self, what):
        cursor = 0
        while True:
            cursor, page = self._call("scan", cursor, _SCAN_PAGE, what)
            yield from page
            if cursor == 0:
                return

    def _whole(self, method, what):
        """One request for the whole view; page by page when the reply
        would be over the daemon's message size."""
        try:
            return self._call(method)
        except errors.TooLarge:
            return list(self._scan(what))

    def keys(self):
        return [_connection._hashable(k) for k in self._whole("keys", "keys")]

    def values(self):
        return self._whole("values", "values")

    def items(self):
        return [(_connection._hashable(k), v) for k, v in self._whole("items", "items")]

    def get(self, key, default=None):
        try:
            return self._call("getitem", _hashable_key(key))
        except KeyError:
            return default

    def pop(self, key, *default):
        if len(default) > 1:
            raise TypeError("pop expected at most 2 arguments, got %d" % (1 + len(default)))
        try:
            return self._call("pop", _hashable_key(key))
        except KeyError:
            if default:
                return default[0]
            raise KeyError(key) from None

    def popitem(self):
        k, v = self._call("popitem")
        return _connection._hashable(k), v

    def setdefault(self, key, default=None):
        return self._call("setdefault", _hashable_key(key), default)

    def update(self, other=(), /, **kwds):
        """All or nothing: the pairs go to the daemon in one request."""
        if isinstance(other, DictProxy):
            pairs = other.items()
        elif isinstance(other, collections.abc.Mapping):
            pairs = list(other.items())
        elif hasattr(other, "keys"):
            pairs = [(k, other[k]) for k in other.keys()]
        else:
            pairs = []
            for i, item in enumerate(other):
                try:
                    pair = list(item)
                except TypeError:
                    raise TypeError("cannot convert dictionary update sequence element "
                                    "#%d to a sequence" % i) from None
                if len(pair) != 2:
                    raise ValueError("dictionary update sequence element #%d has length "
                                     "%d; 2 is required" % (i, len(pair)))
                pairs.append(pair)
        pairs.extend(kwds.items())
        for k, _ in pairs:
            _hashable_key(k)
        if pairs:
            self._call("update", pairs)

    def clear(self):
        self._call("clear")

    def copy(self):
        """A plain dict with the same pairs (as DictProxy.copy())."""
        try:
            return self._call("copy")
        except errors.TooLarge:
            return {_connection._hashable(k): v for k, v in self._scan("items")}

    def incr(self, key, delta=1):
        """procshare extension: atomically adds delta to the number at key
        (absent: 0) and returns the new value."""
        return self._call("incr", _hashable_key(key), delta)

    _getvalue = copy

    def _referent_repr(self):
        return repr(self.copy())

    __eq__ = BaseProxy.__eq__
    __ne__ = BaseProxy.__ne__
    __hash__ = BaseProxy.__hash__


# ---- list -----------------------------------------------------------------



@_wire_type
class ListProxy(BaseProxy, collections.abc.MutableSequence):
    """A shared list, like multiprocessing's ListProxy. Slices are one
    request each; iteration fetches pages of items, so it sees changes made
    meanwhile as iterating a list by index would."""

    _wire = "list"
    _typeid = "list"

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._call("getslice", *_slice_params(i))
        return self._call("getitem", _index(i))

    def __setitem__(self, i, value):
        if isinstance(i, slice):
            self._call("setslice", *_slice_params(i), self._items_of(value, i))
            return
        self._call("setitem", _index(i), value)

    def __delitem__(self, i):
        if isinstance(i, slice):
            self._call("delslice", *_slice_params(i))
            return
        self._call("delitem", _index(i))

    @staticmethod
    def _items_of(value, s):
        try:
            return list(value)
        except TypeError:
            if s.step is None or s.step == 1:
                raise TypeError("can only assign an iterable") from None
            raise TypeError("must assign iterable to extended slice") from None

    def __len__(self):
        return self._call("len")

    def __contains__(self, value):
        return self._call("contains", value)

    def __iter__(self):
        # Page by page (list.scan), by index, as iterating a list does.
        cursor = 0
        while True:
            cursor, page = self._call("scan", cursor, _SCAN_PAGE)
            yield from page
            if cursor == 0:
                return

    def __reversed__(self):
        return reversed(self.copy())

    def append(self, value):
        self._call("append", value)

    def extend(self, values):
        """All or nothing: the items go to the daemon in one request."""
        self._call("extend", list(values))

    def insert(self, i, value):
        self._call("insert", _int64(i), value)

    def pop(self, i=-1):
        return self._call("pop", _int64(i))

    def remove(self, value):
        self._call("remove", value)

    def index(self, value, start=0, stop=sys.maxsize):
        try:
            return self._call("index", value, _slice_bound(start), _slice_bound(stop))
        except ValueError:
            raise ValueError("%r is not in list" % (value,)) from None

    def count(self, value):
        return self._call("count", value)

    def reverse(self):
        self._call("reverse")

    def sort(self, *, key=None, reverse=False):
        """Sorts in the daemon (atomic; PROTOCOL.md gives the order). With a
        key function the sort runs here: the list is read, sorted and
        written back, which is not atomic against other writers."""
        if key is None:
            self._call("sort", bool(reverse))
            return
        items = self.copy()
        items.sort(key=key, reverse=reverse)
        self._call("setslice", None, None, None, items)

    def clear(self):
        self._call("clear")

    def copy(self):
        """A plain list of the items."""
        try:
            return self._call("copy")
        except errors.TooLarge:
            return list(self)

    _getvalue = copy

    def __add__(self, other):
        return self.copy() + other

    def __mul__(self, n):
        return self.copy() * n

    __rmul__ = __mul__

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __imul__(self, n):
        # Not atomic: the items are read, then appended n - 1 times.
        n = operator.index(n)
        if n <= 0:
            self.clear()
        elif n > 1:
            self.extend(self.copy() * (n - 1))
        return self

    def _referent_repr(self):
        return repr(self.copy())

    __eq__ = BaseProxy.__eq__
    __ne__ = BaseProxy.__ne__
    __hash__ = BaseProxy.__hash__


# ---- Namespace ------------------------------------------------------------

@_wire_type
class NamespaceProxy(BaseProxy):
    """A shared Namespace: every attribute whose name does not start with
    "_" lives in the daemon (as with multiprocessing's NamespaceProxy)."""

    _wire = "namespace"
    _typeid = "Namespace"

    def __getattribute__(self, key):
        if key[0] == "_":
            return object.__getattribute__(self, key)
        return object.__getattribute__(self, "_call")("getattr", key)

    def __setattr__(self, key, value):
        if key[0] == "_":
            return object.__setattr__(self, key, value)
        return object.__getattribute__(self, "_call")("setattr", key, value)

    def __delattr__(self, key):
        if key[0] == "_":
            return object.__delattr__(self, key)
        return object.__getattribute__(self, "_call")("delattr", key)

    def __dir__(self):
        return self._call("dir")

    def _vars(self):
        return self._call("vars")

    def _getvalue(self):
        """A multiprocessing.managers.Namespace with the same attributes."""
        from multiprocessing.managers import Namespace
        return Namespace(**self._vars())

    def _referent_repr(self):
        # multiprocessing's Namespace.__repr__: sorted, "_" names hidden.
        items = sorted("%s=%r" % (k, v) for k, v in self._vars().items() if not k.startswith("_"))
        return "Namespace(%s)" % ", ".join(items)


# ---- Value and Array ------------------------------------------------------

def typecode_of(typecode):
    """A typecode string; ctypes types (ctypes.c_int) give their own."""
    if isinstance(typecode, type) and isinstance(getattr(typecode, "_type_", None), str):
        return typecode._type_
    return typecode


class _Typed(BaseProxy):
    """Value and Array: a typecode that never changes, fetched once."""

    def _set_typecode(self, typecode):
        object.__setattr__(self, "_typecode_cache", typecode)
        return self

    @property
    def typecode(self):
        tc = getattr(self, "_typecode_cache", None)
        if tc is None:
            tc = self._call("typecode")
            self._set_typecode(tc)
        return tc


@_wire_type
class ValueProxy(_Typed):
    """A shared Value of one typecode (PROTOCOL.md: typecodes). Unlike
    multiprocessing's, which holds any object, it checks its values as
    multiprocessing.Value (a ctypes object) does."""

    _wire = "value"
    _typeid = "Value"

    def get(self):
        return self._call("get")

    def set(self, value):
        self._call("set", value)

    value = property(get, set)

    def add(self, delta=1):
        """procshare extension: atomically adds delta; returns the new value."""
        return self._call("add", delta)

    def cas(self, expected, new):
        """procshare extension: compare-and-swap. Sets new if the value is
        expected; returns (swapped, the value after the call)."""
        swapped, value = self._call("cas", expected, new)
        return swapped, value

    def _getvalue(self):
        """A multiprocessing.managers.Value holding a copy, as
        multiprocessing's ValueProxy._getvalue() returns."""
        from multiprocessing.managers import Value
        return Value(self.typecode, self.get())

    def _referent_repr(self):
        return "Value(%r, %r)" % (self.typecode, self.get())


_ARRAY_MODULE_CODES = frozenset("bBhHiIlLqQfdu")


@_wire_type
class ArrayProxy(_Typed, collections.abc.Sequence):
    """A shared fixed-length Array of one typecode. Slices read back as an
    array.array (a list for typecode "c", which array.array lacks)."""

    _wire = "array"
    _typeid = "Array"

    def __len__(self):
        return self._call("len")

    def _as_array(self, items):
        tc = self.typecode
        if tc in _ARRAY_MODULE_CODES:
            import array
            return array.array(tc, items)
        return items

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._as_array(self._call("getslice", *_slice_params(i)))
        return self._call("getitem", _index(i, "array"))

    def __setitem__(self, i, value):
        if isinstance(i, slice):
            try:
                items = list(value)
            except TypeError:
                raise TypeError("can only assign an iterable to an array slice") from None
            self._call("setslice", *_slice_params(i), items)
            return
        self._call("setitem", _index(i, "array"), value)

    def __iter__(self):
        return iter(self.tolist())

    def __reversed__(self):
        return reversed(self.tolist())

    def __contains__(self, value):
        return value in self.tolist()

    def index(self, value, start=0, stop=sys.maxsize):
        return self.tolist().index(value, start, stop)

    def count(self, value):
        return self.tolist().count(value)

    def tolist(self):
        """A list of the elements."""
        return self._call("tolist")

    def _getvalue(self):
        return self._as_array(self.tolist())

    def _referent_repr(self):
        value = self._getvalue()
        if isinstance(value, list):
            return "array(%r, %r)" % (self.typecode, value)
        return repr(value)

    __eq__ = BaseProxy.__eq__
    __ne__ = BaseProxy.__ne__
    __hash__ = BaseProxy.__hash__


# ---- set ------------------------------------------------------------------

def _member(m):
    hash(m)     # what Python's set refuses, refuse here too
    return m


def _operand(other):
    """A set operand for the wire: a shared set travels as a reference (the
    daemon reads it in place), anything else as an array of members."""
    if isinstance(other, SetProxy):
        return other
    return [_member(m) for m in other]


def _members(items):
    return {_connection._hashable(m) for m in items}


@_wire_type
class SetProxy(BaseProxy, collections.abc.MutableSet):
    """A shared set, like Python 3.14's SetProxy. Algebra results (union,
    copy, |, ...) are plain sets; methods taking other sets take any
    iterables, and a shared set as an operand is read inside the daemon."""

    _wire = "set"
    _typeid = "set"

    def __contains__(self, m):
        return self._call("contains", _member(m))

    def __len__(self):
        return self._call("len")

    def __iter__(self):
        return iter(self.copy())

    def add(self, m):
        self._call("add", _member(m))

    def discard(self, m):
        self._call("discard", _member(m))

    def remove(self, m):
        try:
            self._call("remove", _member(m))
        except KeyError:
            raise KeyError(m) from None

    def pop(self):
        return _connection._hashable(self._call("pop"))

    def clear(self):
        self._call("clear")

    def copy(self):
        """A plain set of the members."""
        return _members(self._call("copy"))

    _getvalue = copy

    def update(self, *others):
        self._call("update", *map(_operand, others))

    def union(self, *others):
        return _members(self._call("union", *map(_operand, others)))

    def intersection(self, *others):
        return _members(self._call("intersection", *map(_operand, others)))

    def difference(self, *others):
        return _members(self._call("difference", *map(_operand, others)))

    def symmetric_difference(self, other):
        return _members(self._call("symmetric_difference", _operand(other)))

    def intersection_update(self, *others):
        self._call("intersection_update", *map(_operand, others))

    def difference_update(self, *others):
        self._call("difference_update", *map(_operand, others))

    def symmetric_difference_update(self, other):
        self._call("symmetric_difference_update", _operand(other))

    def isdisjoint(self, other):
        return self._call("isdisjoint", _operand(other))

    def issubset(self, other):
        return self._call("issubset", _operand(other))

    def issuperset(self, other):
        return self._call("issuperset", _operand(other))

    # Operators take sets only, as Python's do.
    @staticmethod
    def _is_set(other):
        return isinstance(other, collections.abc.Set)

    def __or__(self, other):
        return self.union(other) if self._is_set(other) else NotImplemented

    def __and__(self, other):
        return self.intersection(other) if self._is_set(other) else NotImplemented

    def __sub__(self, other):
        return self.difference(other) if self._is_set(other) else NotImplemented

    def __xor__(self, other):
        return self.symmetric_difference(other) if self._is_set(other) else NotImplemented

    __ror__ = __or__
    __rand__ = __and__
    __rxor__ = __xor__

    def __rsub__(self, other):
        return set(other) - self.copy() if self._is_set(other) else NotImplemented

    def __ior__(self, other):
        if not self._is_set(other):
            return NotImplemented
        self.update(other)
        return self

    def __iand__(self, other):
        if not self._is_set(other):
            return NotImplemented
        self.intersection_update(other)
        return self

    def __isub__(self, other):
        if not self._is_set(other):
            return NotImplemented
        self.difference_update(other)
        return self

    def __ixor__(self, other):
        if not self._is_set(other):
            return NotImplemented
        self.symmetric_difference_update(other)
        return self

    def __le__(self, other):
        return self.issubset(other) if self._is_set(other) else NotImplemented

    def __ge__(self, other):
        return self.issuperset(other) if self._is_set(other) else NotImplemented

    def __lt__(self, other):
        # One copy, compared here: two wire calls would not be atomic.
        if not self._is_set(other):
            return NotImplemented
        return self.copy() < (other.copy() if isinstance(other, SetProxy) else set(other))

    def __gt__(self, other):
        if not self._is_set(other):
            return NotImplemented
        return self.copy() > (other.copy() if isinstance(other, SetProxy) else set(other))

    def _referent_repr(self):
        return repr(self.copy())

    __eq__ = BaseProxy.__eq__
    __ne__ = BaseProxy.__ne__
    __hash__ = BaseProxy.__hash__


# ---- queues ---------------------------------------------------------------

def _timeout(block, timeout):
    """What the daemon may wait for a call with these arguments."""
    return 0 if not block else timeout


@_wire_type
class QueueProxy(BaseProxy):
    """A shared queue.Queue, like the manager's Queue proxy: put and get
    block (or not) and time out as queue.Queue's do, raising queue.Full and
    queue.Empty. Waiting happens in the daemon: other threads' calls on the
    same connection go on meanwhile."""

    _wire = "queue"
    _typeid = "Queue"

    def put(self, item, block=True, timeout=None):
        self._blocking_call("put", _timeout(block, timeout), item, bool(block), timeout)

    def get(self, block=True, timeout=None):
        return self._blocking_call("get", _timeout(block, timeout), bool(block), timeout)

    def put_nowait(self, item):
        self._call("put_nowait", item)

    def get_nowait(self):
        return self._call("get_nowait")

    def qsize(self):
        return self._call("qsize")

    def empty(self):
        return self._call("empty")

    def full(self):
        return self._call("full")

    def _referent_repr(self):
        return "<queue.Queue object, procshare id %d>" % self._id


@_wire_type
class JoinableQueueProxy(QueueProxy):
    """A shared JoinableQueue: a Queue with task_done() and join()."""

    _wire = "joinablequeue"
    _typeid = "JoinableQueue"

    def task_done(self):
        self._call("task_done")

    def join(self, timeout=None):
        """Waits until every item put has been marked done. The timeout
        (seconds) is a procshare extension: procshare.Timeout when it
        passes first."""
        self._blocking_call("join", timeout, timeout)


# ---- synchronisation ------------------------------------------------------

AcquireResult = collections.namedtuple("AcquireResult", "acquired token abandoned")
AcquireResult.__doc__ = """What an acquisition got (procshare extension): acquired (bool), the
fencing token (larger than any this lock gave before; 0 when not acquired)
and abandoned (the previous holder died holding it)."""


def _wait_timeout(timeout):
    """threading's waits treat a negative timeout as 0; the daemon refuses
    it."""
    if timeout is not None and timeout < 0:
        return 0
    return timeout


class AcquirerProxy(BaseProxy):
    """A shared Lock, RLock, Semaphore or BoundedSemaphore, like the
    manager's AcquirerProxy; usable in a with statement. Holds belong to the
    process's connection: a process that dies gives back what it held."""

    _repr_name = "AcquirerProxy"
    def _acquire_timeout(self, blocking, timeout):
        # threading.Lock: -1 waits forever, other negative values are refused.
        if timeout is not None and timeout < 0:
            if timeout != -1:
                raise ValueError("timeout value must be positive")
            return None
        return timeout

    def _owner_call(self, method, may_wait, *params, on_abandon=None):
        """A call whose effect belongs to the calling thread, on its own
        connection (Connection.for_thread)."""
        conn = self._conn.for_thread()
        return conn.request(self._prefix + method, [self._id, *params], on_abandon=on_abandon,
                            may_wait=may_wait)[0]

    def acquire_result(self, blocking=True, timeout=None):
        """acquire(), answering an AcquireResult (procshare extension)."""
        timeout = self._acquire_timeout(blocking, timeout)
        r = self._owner_call("acquire", _timeout(blocking, timeout), bool(blocking), timeout,
                             on_abandon=self._release_abandoned)
        return AcquireResult(r["acquired"], r["token"], r["abandoned"])

    def acquire(self, blocking=True, timeout=None):
        return self.acquire_result(blocking, timeout).acquired

    def _release_abandoned(self, conn, result):
        # The caller gave up waiting (Ctrl-C) but the daemon gave the hold
        # anyway: give it back with the connection's next request.
        if isinstance(result, dict) and result.get("acquired"):
            conn.defer(self._prefix + "release", [self._id])

    def release(self):
        self._owner_call("release", 0)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.release()


@_wire_type
class LockProxy(AcquirerProxy):
    _wire = "lock"
    _typeid = "Lock"

    def locked(self):
        return self._call("locked")

    def _referent_repr(self):
        return "<%s _thread.lock object, procshare id %d>" % (
            "locked" if self.locked() else "unlocked", self._id)


@_wire_type
class RLockProxy(LockProxy):
    _wire = "rlock"
    _typeid = "RLock"

    def _referent_repr(self):
        return "<%s _thread.RLock object, procshare id %d>" % (
            "locked" if self.locked() else "unlocked", self._id)


@_wire_type
class SemaphoreProxy(AcquirerProxy):
    _wire = "semaphore"
    _typeid = "Semaphore"

    def _acquire_timeout(self, blocking, timeout):
        # threading.Semaphore: a negative timeout gives up at once.
        return _wait_timeout(timeout)

    def release(self, n=1):
        self._owner_call("release", 0, n)

    def _referent_repr(self):
        return "<threading.%s object, procshare id %d>" % (self._typeid, self._id)


@_wire_type
class BoundedSemaphoreProxy(SemaphoreProxy):
    _wire = "boundedsemaphore"
    _typeid = "BoundedSemaphore"


@_wire_type
class ConditionProxy(AcquirerProxy):
    """A shared Condition, like the manager's ConditionProxy; wait_for runs
    here, calling wait until the predicate holds."""

    _wire = "condition"
    _typeid = "Condition"
    _repr_name = None

    def wait(self, timeout=None):
        # The daemon answers once the lock is held again, which may be
        # well after the timeout: no client deadline.
        return self._owner_call("wait", None, _wait_timeout(timeout),
                                on_abandon=self._release_abandoned_wait)

    def _release_abandoned_wait(self, conn, result):
        # Answered means the lock is held again: give it back.
        conn.defer(self._prefix + "release", [self._id])

    def notify(self, n=1):
        self._owner_call("notify", 0, n)

    def notify_all(self):
        self._owner_call("notify_all", 0)

    def wait_for(self, predicate, timeout=None):
        result = predicate()
        if result:
            return result
        endtime = None if timeout is None else time.monotonic() + timeout
        waittime = None
        while not result:
            if endtime is not None:
                waittime = endtime - time.monotonic()
                if waittime <= 0:
                    break
            self.wait(waittime)
            result = predicate()
        return result

    def _referent_repr(self):
        return "<Condition, procshare id %d>" % self._id


@_wire_type
class EventProxy(BaseProxy):
    """A shared Event, like the manager's EventProxy."""

    _wire = "event"
    _typeid = "Event"

    def is_set(self):
        return self._call("is_set")

    def set(self):
        self._call("set")

    def clear(self):
        self._call("clear")

    def wait(self, timeout=None):
        timeout = _wait_timeout(timeout)
        return self._blocking_call("wait", timeout, timeout)

    def _referent_repr(self):
        return "<threading.Event, procshare id %d: %s>" % (
            self._id, "set" if self.is_set() else "unset")


@_wire_type
class BarrierProxy(BaseProxy):
    """A shared Barrier, like the manager's BarrierProxy (no action: the
    daemon runs no code)."""

    _wire = "barrier"
    _typeid = "Barrier"

    def wait(self, timeout=None):
        """Returns this party's arrival index (0 for the first)."""
        timeout = _wait_timeout(timeout)
        return self._blocking_call("wait", None, timeout)

    def abort(self):
        self._call("abort")

    def reset(self):
        self._call("reset")

    @property
    def parties(self):
        return self._call("parties")

    @property
    def n_waiting(self):
        return self._call("n_waiting")

    @property
    def broken(self):
        return self._call("broken")

    def _referent_repr(self):
        return "<threading.Barrier, procshare id %d: waiters=%d/%d>" % (
            self._id, self.n_waiting, self.parties)
