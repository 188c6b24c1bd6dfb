"""One authenticated connection to a daemon, shared by every thread of a
process: MessagePack-RPC calls multiplexed by msgid, the table of objects
this process holds handles on, and fork safety.

Threads. A reader thread owns the receiving side of the socket: it decodes
answers and hands each to the thread waiting for that msgid, in whatever
order they come. Callers send under `_wlock` and wait on their own lock, so
any number of threads can be blocked in different calls (a queue.get, a
Condition.wait) while others go on. Locking order: `_wlock` before `_lock`;
the reader takes only `_lock`, and never while it could block, so a sender
stuck in sendall() (the daemon has stopped reading us) cannot stop the
reader from draining the answers that would unblock the daemon. (A
leader/follower scheme, where a caller reads for everyone, saves a thread
switch per call; but a KeyboardInterrupt landing between a recv() and the
decoding of its bytes would lose them and desynchronise the stream, and
signals never reach the reader thread.)

Handles. The process keeps one daemon handle per object it has proxies for,
and counts its proxies in `held` (guarded by `_wlock`, under which the
matching retain/release requests are also sent, so the daemon sees them in
the order the counts changed). A proxy that dies only queues its id on
`_drops` (a deque: safe from __del__ in any thread, even the reader's); the
next request sends the releases that brings about.

Encryption. In an encrypted session (PROTOCOL.md 2.2) the bytes of both
directions travel in sealed records, each direction numbering its own. A
sender seals under `_wlock`, right before it writes, so that records go on
the wire in the order of their numbers; the reader opens records before it
decodes. A record that fails to open ends the connection (RecordError).

Fork. A child never uses its parent's socket: in the child, the inherited
socket is closed (close, not shutdown, so the parent's connection is not
disturbed) and the first call opens a new connection and retains every
object the child's proxies refer to.
"""

import collections
import multiprocessing.context
import multiprocessing.util
import os
import socket
import struct
import threading
import weakref

from ._msgpack import msgpack

from . import _seal, _wire, errors

REF_EXT = 1
_REQUEST_HEAD = b"\x94\x00"  # fixarray of 4, then type 0 (request)
_MSGID_LIMIT = 1 << 32
_RECV_CHUNK = 256 * 1024
_TYPE_CACHE_MAX = 4096


class Ref:
    """A reference (MessagePack ext type 1) as read from the wire, before
    the proxy layer turns it into a proxy; what is left of a reference to
    an object that no longer exists. Sent back, it is a reference again."""

    __slots__ = ("id",)

    def __init__(self, oid):
        self.id = oid

    def __eq__(self, other):
        return type(other) is Ref and other.id == self.id

    def __hash__(self):
        return hash(("procshare.Ref", self.id))

    def __repr__(self):
        return "procshare.Ref(%d)" % self.id

    def _procshare_ref(self, conn):
        return self.id


def encode_ref(oid):
    return msgpack.ExtType(REF_EXT, struct.pack(">Q", oid))


def _hashable(v):
    """A map key read back as a list becomes a tuple: Python keys must be
    hashable, and a tuple key was sent as an array in the first place."""
    if type(v) is list:
        return tuple(_hashable(x) for x in v)
    return v


def _pairs_to_dict(pairs):
    try:
        return dict(pairs)
    except TypeError:
        return {_hashable(k): v for k, v in pairs}


class _Call:
    """One request in flight. `done` is held until the answer is in."""

    __slots__ = ("msgid", "done", "error", "result", "refs", "on_late")

    def __init__(self):
        self.done = threading.Lock()
        self.done.acquire()
        self.error = None
        self.result = None
        self.refs = False
        self.on_late = None


# Connections of this process, so that fork hooks can reach them.
_live = weakref.WeakSet()
_fork_lock = threading.Lock()


def _after_fork_in_child():
    global _fork_lock
    _fork_lock = threading.Lock()
    for conn in list(_live):
        conn._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _ThreadConnection:
    """Keeps a thread's own connection in its threading.local, and closes
    it when the thread ends and the local is cleared."""

    __slots__ = ("conn",)

    def __init__(self, conn):
        self.conn = conn

    def __del__(self):
        try:
            self.conn.close()
        except Exception:
            pass


class Connection:
    """An authenticated connection. `keysource` says how another process
    can find the key again when a proxy is pickled: ("file", path),
    ("env",) or ("key", bytes). `encryption` is the mode of PROTOCOL.md
    2.1: "auto", "on", "off" (or True/False); None takes it from
    $PROCSHARE_ENCRYPTION, default "auto". Every later connection this one
    opens (after a fork, for another thread) keeps the mode."""

    def __init__(self, address, key, keysource=None, timeout=None, encryption=None):
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("the authkey must be non-empty bytes")
        self.encryption = _seal.resolve_mode(encryption)
        self.parsed = _wire.parse_address(address)
        self.address = _wire.format_address(self.parsed)
        self.key = bytes(key)
        self.keysource = keysource or ("key", self.key)
        # Seconds a call may wait for its answer (None: forever). Blocking
        # methods carry their own timeout to the daemon instead.
        self.timeout = timeout
        self.held = {}            # id -> [proxy count, type name]
        self._types = {}          # id -> type name, learnt from typeof
        self._drops = collections.deque()
        self._deferred = collections.deque()
        self._error = None
        self._closed = False
        # Lock holds belong to a connection: other threads get their own
        # (see for_thread).
        self._home = threading.get_ident()
        self._threads = threading.local()
        self._reset_state()
        self._install(self._open())
        _live.add(self)
        multiprocessing.util.register_after_fork(self, Connection._reconnect_quietly)

    def _reset_state(self):
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wlock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._pending = {}
        self._next_id = 1
        self._sock = None
        self._sealer = None       # the sending half of an encrypted session
        self._notice = None

    # ---- opening ----------------------------------------------------------

    def _open(self):
        """A new socket to the daemon, authenticated: (socket, sealer,
        opener), the last two None in a plaintext session."""
        try:
            sock = _wire.open_socket(self.parsed)
        except OSError as e:
            raise errors.ConnectionLost("cannot connect to %s: %s" % (self.address, e)) from None
        try:
            shello, chello, encrypted = _wire.handshake(
                sock, self.key, self.encryption, self.parsed[0], "the daemon at " + self.address)
            sealer = opener = None
            if encrypted:
                c2s, s2c = _seal.session_keys(self.key, shello, chello)
                sealer = _seal.Sealer(c2s)
                opener = _seal.Opener(s2c, "the daemon at " + self.address)
        except socket.timeout:
            sock.close()
            raise errors.Timeout("no handshake from %s within %.0f s"
                                 % (self.address, _wire.CONNECT_TIMEOUT)) from None
        except OSError as e:
            sock.close()
            if isinstance(e, errors.ProcshareError):
                raise
            raise errors.ConnectionLost("handshake with %s failed: %s" % (self.address, e)) from None
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return sock, sealer, opener

    def _install(self, session):
        """Makes the (socket, sealer, opener) of _open the connection's
        and starts its reader. Under _wlock, or before other threads can
        see the connection."""
        sock, self._sealer, opener = session
        self._sock = sock
        reader = threading.Thread(target=self._read_loop, args=(sock, opener),
                                  name="procshare-reader %s" % self.address, daemon=True)
        reader.start()

    def _forget_parent(self):
        """In a fork child: drop everything that belongs to the parent,
        including requests queued for its connection."""
        sock = self._sock
        # The thread that forked is the child's only one.
        self._home = threading.get_ident()
        self._reset_state()
        self._deferred.clear()
        if sock is not None:
            sock.close()

    def _check_process(self):
        if self._pid != os.getpid():
            # Forked without the at-fork hooks (a C extension's fork()).
            with _fork_lock:
                if self._pid != os.getpid():
                    self._forget_parent()
        if self._sock is None and self._error is None:
            with self._connect_lock:
                if self._sock is None and self._error is None:
                    self._reconnect()

    def _reconnect(self):
        try:
            session = self._open()
        except errors.ProcshareError as e:
            self._error = type(e)("after fork: " + e.message, e.code)
            raise self._fresh_error() from None
        # Take again, for this process, a handle on everything its proxies
        # stand for, before any other request can send a release for one.
        # An object that went away meanwhile fails on first use.
        with self._wlock:
            self._apply_drops()
            self._install(session)
            calls, out = [], []
            for oid in self.held:
                call, data = self._register(self._encode("retain", [oid]))
                calls.append(call)
                out.append(data)
            if out:
                self._send(b"".join(out))
        for call in calls:
            try:
                self._finish(call)
            except errors.NoSuchObject:
                pass

    def _reconnect_quietly(self):
        """multiprocessing runs this in a Process child started by fork:
        retain at once, before the parent can drop what we were given."""
        try:
            if self.held:
                self._check_process()
        except Exception:
            pass

    # ---- reading ----------------------------------------------------------

    def _read_loop(self, sock, opener):
        seen = [False]

        def ext_hook(code, data):
            if code == REF_EXT and len(data) == 8:
                seen[0] = True
                return Ref(struct.unpack(">Q", data)[0])
            return msgpack.ExtType(code, data)

        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0,
                                    ext_hook=ext_hook, object_pairs_hook=_pairs_to_dict)
        err = None
        try:
            while True:
                data = sock.recv(_RECV_CHUNK)
                if not data:
                    break
                if opener is not None:
                    data = opener.feed(data)
                unpacker.feed(data)
                for msg in unpacker:
                    self._deliver(msg, seen[0])
                    seen[0] = False
                if opener is not None and opener.failed is not None:
                    raise opener.failed
        except errors.RecordError as e:
            err = e
        except OSError as e:
            err = self._io_error(e)
        except Exception as e:
            err = errors.ProtocolError("undecodable data from %s: %s" % (self.address, e))
        if err is None:
            cut = " in the middle of an encrypted record" if opener and opener.pending else ""
            err = self._notice or errors.ConnectionLost(
                "the daemon at %s closed the connection%s" % (self.address, cut))
        self._fail(err, sock)
        if isinstance(err, errors.ProtocolError):
            # Nothing more can be read from this stream: let the daemon see
            # the end now rather than when the program closes us.
            self._shutdown(sock)

    def _deliver(self, msg, refs):
        if type(msg) is list and len(msg) == 4 and msg[0] == 1:
            with self._lock:
                call = self._pending.pop(msg[1], None)
            if call is None:
                return      # a release, or the answer to an abandoned call
            err = msg[2]
            if err is not None and not (type(err) is list and len(err) == 2):
                err = errors.ProtocolError("malformed error in an answer: %r" % (err,))
            call.error, call.result, call.refs = err, msg[3], refs
            if call.on_late is not None:
                call.on_late(call)
            else:
                call.done.release()
        elif type(msg) is list and len(msg) == 3 and msg[0] == 2:
            # The daemon announces why it is about to close the connection.
            p = msg[2]
            if msg[1] == "error" and type(p) is list and len(p) == 2:
                e = errors.from_wire(p[0], p[1])
                if not isinstance(e, errors.ProcshareError):
                    e = errors.ProcshareError(str(e), p[0])
                self._notice = type(e)("the daemon at %s closed the connection: %s: %s"
                                       % (self.address, e.code, e.message), e.code)
        else:
            raise ValueError("not a response: %r" % (msg,))

    def _io_error(self, e):
        if isinstance(e, (ConnectionResetError, BrokenPipeError)):
            return errors.ConnectionLost("the daemon at %s closed the connection (%s)"
                                         % (self.address, e.strerror))
        return errors.ConnectionLost("connection to %s failed: %s" % (self.address, e))

    def _fail(self, err, sock):
        """The connection is dead: every call in flight and every later one
        fails with err."""
        with self._lock:
            if sock is not self._sock:
                return          # a socket this process already forgot
            if self._error is None:
                # Calls in flight fail with the reason (TooLarge, ...);
                # later ones with ConnectionLost, which says it again.
                self._error = err if isinstance(err, errors.ConnectionLost) else \
                    errors.ConnectionLost(err.message, err.code)
            else:
                err = self._error
            pending, self._pending = self._pending, {}
        for call in pending.values():
            call.error = err
            if call.on_late is None:
                call.done.release()

    def _fresh_error(self):
        e = self._error
        return type(e)(e.message, e.code)

    # ---- calling ----------------------------------------------------------

    def _new_msgid(self):
        """Under _lock: a msgid no call in flight uses."""
        while True:
            msgid = self._next_id
            self._next_id = msgid + 1 if msgid + 1 < _MSGID_LIMIT else 1
            if msgid not in self._pending:
                return msgid

    def _encode(self, method, params):
        return msgpack.packb(method) + msgpack.packb(params, use_bin_type=True,
                                                     default=self._default)

    def _default(self, obj):
        proxy_id = getattr(obj, "_procshare_ref", None)
        if proxy_id is not None:
            return encode_ref(proxy_id(self))
        if isinstance(obj, int):
            raise OverflowError("%d does not fit in 64 bits: procshare integers run from "
                                "-2**63 to 2**64-1" % obj)
        raise TypeError("cannot send a %r object to procshare (supported: None, bool, "
                        "int, float, str, bytes, list, tuple, dict and procshare proxies)"
                        % type(obj).__name__)

    def _fire(self, body):
        """Under _wlock: a request whose answer nobody waits for."""
        with self._lock:
            msgid = self._new_msgid()
        return _REQUEST_HEAD + msgpack.packb(msgid) + body

    def _apply_drops(self):
        """Under _wlock: counts down the proxies that died; returns the
        releases to send for objects no proxy stands for any more."""
        out = []
        while self._drops:
            oid = self._drops.popleft()
            h = self.held.get(oid)
            if h is None:
                continue
            h[0] -= 1
            if h[0] <= 0:
                del self.held[oid]
                out.append(self._fire(self._encode("release", [oid])))
        while self._deferred:
            method, params = self._deferred.popleft()
            out.append(self._fire(self._encode(method, params)))
        return out

    def _register(self, body):
        """Under _wlock: a _Call for a request and the request's bytes."""
        call = _Call()
        with self._lock:
            call.msgid = self._new_msgid()
            self._pending[call.msgid] = call
        return call, _REQUEST_HEAD + msgpack.packb(call.msgid) + body

    def _start(self, method, params):
        """Sends a request; returns its _Call for _finish."""
        self._check_process()
        body = self._encode(method, params)
        with self._wlock:
            if self._error is not None:
                raise self._fresh_error()
            out = self._apply_drops()
            call, data = self._register(body)
            out.append(data)
            try:
                self._send(b"".join(out))
            except BaseException:
                # Nobody will wait for it (and if it went out, its answer
                # is dropped on arrival).
                with self._lock:
                    if self._pending.get(call.msgid) is call:
                        del self._pending[call.msgid]
                raise
        return call

    def _send(self, data):
        """Under _wlock: writes data, sealed into records in an encrypted
        session. Sealing here, under the lock that orders the writes, puts
        the records on the wire in the order of their numbers. A send
        interrupted (KeyboardInterrupt) before its first byte left leaves
        the stream intact and the connection usable, so the numbers it
        sealed are given back; one interrupted part-way, or an I/O error,
        ends the connection."""
        sock, sealer = self._sock, self._sealer
        if sealer is not None:
            first = sealer.seq
            data = sealer.seal(data)
        view = memoryview(data)
        sent = 0
        try:
            # send() rather than sendall(): an interruption must tell how
            # much went out.
            while sent < len(view):
                sent += sock.send(view[sent:])
        except OSError as e:
            self._fail(self._io_error(e), sock)
            raise self._fresh_error() from None
        except BaseException:
            if sent == 0:
                if sealer is not None:
                    sealer.seq = first
            else:
                self._fail(errors.ConnectionLost(
                    "a send to %s was interrupted part-way: the connection is unusable"
                    % self.address), sock)
                self._shutdown(sock)
            raise

    def _shutdown(self, sock):
        if self._pid == os.getpid():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _finish(self, call, on_abandon=None, may_wait=0):
        """Waits for call's answer. Returns (result, saw_references).
        may_wait: seconds the daemon may legitimately hold the call (a
        blocking method's timeout; None: indefinitely), added to the
        connection's own timeout."""
        wait = self.timeout
        if wait is not None:
            wait = None if may_wait is None else wait + may_wait
        try:
            ok = call.done.acquire(True, -1 if wait is None else wait)
        except BaseException:
            self._abandon(call, on_abandon)
            raise
        if not ok:
            self._abandon(call, on_abandon)
            raise errors.Timeout("no answer from %s within %s s" % (self.address, wait))
        err = call.error
        if err is None:
            return call.result, call.refs
        if isinstance(err, errors.ProcshareError):
            raise type(err)(err.message, err.code)
        raise errors.from_wire(err[0], err[1])

    def _abandon(self, call, on_abandon):
        """The caller stopped waiting (timeout, KeyboardInterrupt). The
        answer will be dropped; on_abandon(result) runs if it is a success
        (to undo, e.g., a lock acquired for nobody)."""
        with self._lock:
            if self._pending.get(call.msgid) is call:
                if on_abandon is None:
                    del self._pending[call.msgid]
                else:
                    call.on_late = lambda c: (c.error is None and on_abandon(self, c.result))
                return
        # Answered meanwhile.
        if on_abandon is not None and call.error is None:
            on_abandon(self, call.result)

    def request(self, method, params, on_abandon=None, may_wait=0):
        """One call: returns (result, saw_references). Raises the mapped
        error when the daemon answers with one. See _finish for the
        others."""
        return self._finish(self._start(method, params), on_abandon, may_wait)

    def call(self, method, params):
        """One call whose result holds no references."""
        return self._finish(self._start(method, params))[0]

    def defer(self, method, params):
        """Sends method(params) with the next request, answer ignored. Safe
        from any thread (the reader's too): it only queues."""
        self._deferred.append((method, params))

    # ---- handles ----------------------------------------------------------

    def hold(self, oid, typename, n=1):
        """Counts n more proxies for oid, whose daemon handle this process
        just received (create, open, retain): a second handle is given
        back."""
        with self._wlock:
            h = self.held.get(oid)
            if h is None:
                self.held[oid] = [n, typename]
                return
            h[0] += n
        self._deferred.append(("release", [oid]))

    def adopt(self, counts, known=None):
        """For references read from the daemon: takes a handle on each id
        not yet held, counts counts[id] proxies for it, and returns
        {id: type name} for the objects that still exist (an object known
        only through a value that was removed may be gone already)."""
        types, need = {}, []
        with self._wlock:
            for oid, n in counts.items():
                h = self.held.get(oid)
                if h is not None:
                    h[0] += n
                    types[oid] = h[1]
                else:
                    need.append(oid)
        if not need:
            return types
        known = known or {}
        calls = []
        for oid in need:
            typename = known.get(oid) or self._types.get(oid)
            # Pipelined: every retain and typeof goes out before any wait.
            calls.append((oid, self._start("retain", [oid]),
                          None if typename else self._start("typeof", [oid]), typename))
        for oid, retain, typeof, typename in calls:
            try:
                self._finish(retain)
            except errors.NoSuchObject:
                continue
            finally:
                if typeof is not None:
                    try:
                        typename = self._finish(typeof)[0]
                    except errors.NoSuchObject:
                        pass
            if len(self._types) > _TYPE_CACHE_MAX:
                self._types.clear()
            self._types[oid] = typename
            types[oid] = typename
            self.hold(oid, typename, counts[oid])
        return types

    def drop(self, oid):
        """A proxy for oid died. Queues only (see the module comment)."""
        self._drops.append(oid)

    # ---- threads and lock ownership ---------------------------------------

    def for_thread(self):
        """The connection for calls whose effect belongs to the caller: lock,
        semaphore and condition acquisitions and waits. The daemon counts
        holds per connection, and Python per thread, so each thread other
        than the one that opened this connection gets one of its own (as
        each thread of multiprocessing's proxies does). It is closed when
        its thread ends, which gives back what the thread still held."""
        if threading.get_ident() == self._home:
            return self
        if self._error is not None:
            raise self._fresh_error()
        holder = getattr(self._threads, "holder", None)
        if holder is None or holder.conn.broken:
            conn = Connection(self.address, self.key, self.keysource, self.timeout,
                              self.encryption)
            holder = self._threads.holder = _ThreadConnection(conn)
        return holder.conn

    # ---- pickling and closing ---------------------------------------------

    def pickle_keysource(self):
        """How a process that unpickles a proxy finds the key: the file, or
        the key itself only while multiprocessing is starting a child (the
        data then goes down a private pipe), as multiprocessing does."""
        kind = self.keysource[0]
        if kind == "key":
            if multiprocessing.context.get_spawning_popen() is not None:
                return self.keysource
            return ("none",)
        return self.keysource

    @property
    def closed(self):
        return self._closed

    @property
    def broken(self):
        return self._error is not None

    @property
    def encrypted(self):
        """Whether the session travels in sealed records (PROTOCOL.md
        2.2), as the handshake decided from the mode and the daemon's
        offer. In a fork child, False until its first call reconnects."""
        return self._sealer is not None

    def close(self):
        """Closes the connection; the daemon releases every handle it had.
        Calls in flight and later ones fail with ConnectionLost."""
        with self._lock:
            self._closed = True
            if self._error is None:
                self._error = errors.ConnectionLost("the connection to %s was closed"
                                                    % self.address)
            sock = self._sock
        if sock is not None:
            if self._pid == os.getpid():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._fail(self._error, sock)
            sock.close()
        _live.discard(self)
        unregister(self)


# ---- connections by address, for unpickled proxies ----------------------

_by_address = {}
_by_address_lock = threading.Lock()


def key_from_env():
    """(key, keysource) from PROCSHARE_AUTHKEY_FILE, else PROCSHARE_AUTHKEY,
    as the C library reads them; (None, None) when neither is set."""
    path = os.environ.get("PROCSHARE_AUTHKEY_FILE")
    if path:
        try:
            return _wire.read_keyfile(path), ("file", path)
        except OSError as e:
            raise errors.AuthFailed("cannot read authkey file %s: %s" % (path, e)) from None
    raw = os.environ.get("PROCSHARE_AUTHKEY")
    if raw:
        return os.fsencode(raw), ("env",)
    return None, None


def _key_for(address, keysource):
    kind = keysource[0] if keysource else "none"
    if kind == "key":
        return keysource[1]
    if kind == "file":
        try:
            return _wire.read_keyfile(keysource[1])
        except OSError as e:
            raise errors.AuthFailed("cannot read authkey file %s: %s" % (keysource[1], e)) from None
    key, _ = key_from_env()
    if key is None:
        raise errors.AuthFailed(
            "no authkey for %s in this process: connect to it first (procshare.connect) "
            "or set PROCSHARE_AUTHKEY_FILE" % address)
    return key


def register(conn):
    """Makes conn the connection this process uses for its address."""
    with _by_address_lock:
        old = _by_address.get(conn.address)
        if old is None or old.broken:
            _by_address[conn.address] = conn


def unregister(conn):
    with _by_address_lock:
        if _by_address.get(conn.address) is conn:
            del _by_address[conn.address]


def connection_for(address, keysource, encryption=None):
    """This process's connection to address, opened on first use (in the
    encryption mode given, which an unpickled proxy brings along)."""
    address = _wire.format_address(_wire.parse_address(address))
    with _by_address_lock:
        conn = _by_address.get(address)
        if conn is not None and not conn.broken:
            return conn
        conn = Connection(address, _key_for(address, keysource), keysource,
                          encryption=encryption)
        _by_address[address] = conn
        return conn
