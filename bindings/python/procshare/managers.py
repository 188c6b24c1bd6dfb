"""Managers: the object a program creates shared objects with, as
multiprocessing.managers.SyncManager. Manager() starts a private procshared
and stops it on shutdown(), on leaving a with block, when the manager is
garbage collected or when the program exits; connect() attaches to a daemon
that is already running.
"""

import os
import secrets
import select
import shutil
import subprocess
import tempfile
import weakref

from . import _connection, _seal, _wire, errors, proxies

# How long a starting daemon may take to say it is listening.
START_TIMEOUT = 30.0
# How long a stopping daemon may take to exit after SIGTERM.
STOP_TIMEOUT = 10.0
_DAEMON_NAME = "procshared"


def find_daemon(explicit=None):
    """The procshared executable to start: `explicit`, else
    $PROCSHARE_DAEMON, else build/procshared of the checkout this package
    sits in, else procshared on PATH (or in /usr/local/sbin, /usr/sbin)."""
    for candidate in (explicit, os.environ.get("PROCSHARE_DAEMON")):
        if candidate:
            if not os.access(candidate, os.X_OK):
                raise errors.ProcshareError("procshared %s is not an executable file" % candidate)
            return candidate
    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.join(here, os.pardir, os.pardir, os.pardir, "build", _DAEMON_NAME)
    if os.access(checkout, os.X_OK):
        return os.path.normpath(checkout)
    path = os.environ.get("PATH", os.defpath) + os.pathsep + "/usr/local/sbin:/usr/sbin:/sbin"
    found = shutil.which(_DAEMON_NAME, path=path)
    if found:
        return found
    raise errors.ProcshareError(
        "cannot find procshared: install it, put it on PATH or set PROCSHARE_DAEMON")


def _write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)


def _wait_ready(proc, rfd, exe):
    """Waits until the daemon writes READY on its --ready-fd (or exits)."""
    got = b""
    try:
        while not got.endswith(b"\n"):
            ready, _, _ = select.select([rfd], [], [], START_TIMEOUT)
            if not ready:
                raise errors.Timeout("%s did not become ready within %.0f s"
                                     % (exe, START_TIMEOUT))
            chunk = os.read(rfd, 64)
            if not chunk:
                status = proc.wait()
                raise errors.ProcshareError("%s exited with status %s before it was ready "
                                            "(its messages are above)" % (exe, status))
            got += chunk
    finally:
        os.close(rfd)
    if got != b"READY\n":
        raise errors.ProtocolError("%s wrote %r on its ready fd" % (exe, got))


def _stop(conn, proc, tmpdir, pid):
    """Finalizer of a manager that started a daemon: only the process that
    started it stops it (a forked child that exits must not)."""
    if os.getpid() != pid:
        return
    if conn is not None:
        conn.close()
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _as_key(authkey):
    if isinstance(authkey, str):
        authkey = authkey.encode("utf-8")
    if not isinstance(authkey, (bytes, bytearray)) or not authkey:
        raise TypeError("authkey must be non-empty bytes")
    return bytes(authkey)


def _reconnected(address, keysource, encryption=None):
    """Unpickles a manager: this process's connection to the same daemon."""
    m = SyncManager(address, encryption=encryption)
    m._attach(_connection.connection_for(address, keysource, encryption), owned=False)
    return m


class SyncManager:
    """Creates and opens shared objects on one daemon.

    SyncManager(address, authkey).connect() attaches to a running daemon;
    .start() starts a private one (at `address`, or on a fresh Unix socket
    in a private temporary directory, with a fresh random authkey unless
    one is given). Use procshare.Manager() and procshare.connect() for the
    two cases. A manager pickles to a connection to the same daemon: a
    child process that receives one can create objects too (but not stop
    the daemon).

    encryption: "auto" (encrypted over TCP, and over a Unix socket when the
    daemon requires it), "on", "off", or True/False; default
    $PROCSHARE_ENCRYPTION, else "auto" (PROTOCOL.md 2.1). Encrypted
    sessions need libsodium."""

    def __init__(self, address=None, authkey=None, *, daemon=None, daemon_args=(),
                 timeout=None, encryption=None):
        # Checked (and taken from the environment) now, not at connect().
        self._encryption = _seal.resolve_mode(encryption)
        self._address = address
        self._authkey = None if authkey is None else _as_key(authkey)
        self._daemon = daemon
        self._daemon_args = list(daemon_args)
        self._timeout = timeout
        self._conn = None
        self._proc = None
        self._owned = False
        self._finalizer = None

    # ---- starting and stopping ----------------------------------------

    def start(self):
        """Starts a private procshared and connects to it."""
        self._check_initial()
        exe = find_daemon(self._daemon)
        tmpdir = tempfile.mkdtemp(prefix="procshare-")
        try:
            address = self._address
            if address is None:
                sock = os.path.join(tmpdir, "procshared.sock")
                if len(os.fsencode(sock)) > _wire.UNIX_PATH_MAX:
                    shutil.rmtree(tmpdir, ignore_errors=True)
                    tmpdir = tempfile.mkdtemp(prefix="procshare-", dir="/tmp")
                    sock = os.path.join(tmpdir, "procshared.sock")
                address = "unix:" + sock
            address = _wire.format_address(_wire.parse_address(address))
            key = self._authkey or secrets.token_hex(32).encode("ascii")
            if key.endswith((b"\n", b"\r")):
                raise ValueError("an authkey passed to a daemon through a file cannot end "
                                 "with a newline")
            keyfile = os.path.join(tmpdir, "authkey")
            _write_key(keyfile, key)
            rfd, wfd = os.pipe()
            try:
                proc = subprocess.Popen(
                    [exe, "--listen", address, "--authkey-file", keyfile, "--ready-fd", str(wfd),
                     "--log-level", "warn", *self._daemon_args],
                    pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    # Like multiprocessing's manager process, the daemon
                    # ignores the terminal's Ctrl-C: the program decides
                    # when to stop it.
                    start_new_session=True)
            except BaseException:
                os.close(rfd)
                raise
            finally:
                os.close(wfd)
            try:
                _wait_ready(proc, rfd, exe)
                conn = _connection.Connection(address, key, ("file", keyfile), self._timeout,
                                              self._encryption)
            except BaseException:
                _stop(None, proc, None, os.getpid())
                raise
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        self._proc = proc
        self._address = address
        self._authkey = key
        self._attach(conn, owned=True, tmpdir=tmpdir)

    def connect(self):
        """Connects to the daemon at the manager's address (default
        $PROCSHARE_ADDRESS) with its authkey (default from
        $PROCSHARE_AUTHKEY_FILE or $PROCSHARE_AUTHKEY)."""
        self._check_initial()
        address = self._address or os.environ.get("PROCSHARE_ADDRESS")
        if not address:
            raise errors.ProcshareError("no address given and PROCSHARE_ADDRESS is not set")
        if self._authkey is not None:
            key, keysource = self._authkey, ("key", self._authkey)
        else:
            key, keysource = _connection.key_from_env()
            if key is None:
                raise errors.AuthFailed("no authkey given: set PROCSHARE_AUTHKEY_FILE "
                                        "or PROCSHARE_AUTHKEY")
        conn = _connection.Connection(address, key, keysource, self._timeout,
                                      self._encryption)
        self._address = conn.address
        self._attach(conn, owned=True)

    def _attach(self, conn, owned, tmpdir=None):
        self._conn = conn
        self._owned = owned
        self._address = conn.address
        _connection.register(conn)
        if owned:
            self._finalizer = weakref.finalize(self, _stop, conn, self._proc, tmpdir, os.getpid())

    def _check_initial(self):
        if self._conn is not None:
            raise errors.ProcshareError("this manager is already started or connected")

    def shutdown(self):
        """Closes the connection and, if this manager started the daemon,
        stops it (every object on it is gone). Proxies fail afterwards with
        ConnectionLost."""
        if self._finalizer is not None:
            self._finalizer()
        elif self._conn is not None and self._owned:
            self._conn.close()

    def join(self, timeout=None):
        """Waits for the daemon this manager started to exit."""
        if self._proc is not None:
            self._proc.wait(timeout)

    def __enter__(self):
        if self._conn is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown()

    def __reduce__(self):
        conn = self._connection()
        return (_reconnected, (conn.address, conn.pickle_keysource(), conn.encryption))

    def __repr__(self):
        state = "not started" if self._conn is None else self._address
        return "<procshare.SyncManager %s>" % state

    # ---- what a manager tells ----------------------------------------

    @property
    def address(self):
        """The daemon's address string ("unix:/...", "tcp://host:port")."""
        return self._address

    @property
    def connection(self):
        """The underlying connection (for timeouts: .timeout = seconds)."""
        return self._connection()

    @property
    def encryption(self):
        """The encryption mode: "auto", "on" or "off"."""
        return self._encryption

    @property
    def encrypted(self):
        """Whether the session with the daemon is encrypted (PROTOCOL.md
        2.2): decided in the handshake from the mode and what the daemon
        offers."""
        return self._connection().encrypted

    @property
    def pid(self):
        """The pid of the daemon this manager started, else None."""
        return None if self._proc is None else self._proc.pid

    def _connection(self):
        if self._conn is None:
            raise errors.ProcshareError("this manager is neither started nor connected")
        return self._conn

    def ping(self):
        return self._connection().call("ping", [])

    def objects(self):
        """[(name, type, id, size)] for every named object."""
        return [tuple(o) for o in self._connection().call("objects", [])]

    def delete(self, name):
        """Removes a name; the object lives on while proxies of it do."""
        self._connection().call("delete", [name])

    def lookup(self, name):
        """A proxy for the existing object called name, whatever its type
        (NoSuchObject when there is none)."""
        for oname, typename, _oid, _size in self.objects():
            if oname == name:
                return self._make(proxies.proxy_class(typename), [], name, create=False)
        raise errors.NoSuchObject("no object is called %r" % (name,))

    # ---- factories ----------------------------------------------------

    def _make(self, cls, args, name, create=True):
        """A proxy for a new object, or for the named one (created with
        args when absent and create is true)."""
        conn = self._connection()
        if name is None:
            oid = conn.call("create", [cls._wire, args])
        else:
            oid = conn.call("open", [cls._wire, name, create, args])
        conn.hold(oid, cls._wire)
        return cls(conn, oid, name)

    def dict(self, *args, name=None, **kwargs):
        """A shared dict, filled as dict(*args, **kwargs) would be. With
        name, the dict of that name (created when absent; the initial
        items are then added only when it was created here)."""
        if name is not None and (args or kwargs):
            try:
                return self._make(proxies.DictProxy, [], name, create=False)
            except errors.NoSuchObject:
                pass
        d = self._make(proxies.DictProxy, [], name)
        if args or kwargs:
            d.update(*args, **kwargs)
        return d

    def list(self, sequence=(), *, name=None):
        """A shared list holding the items of sequence. With name, the list
        of that name (created with those items when absent)."""
        items = sequence.copy() if isinstance(sequence, proxies.ListProxy) else list(sequence)
        return self._make(proxies.ListProxy, [items] if items else [], name)

    def set(self, iterable=(), *, name=None):
        """A shared set of the members of iterable (another shared set is
        read inside the daemon). With name, the set of that name (created
        with those members when absent)."""
        if isinstance(iterable, proxies.SetProxy):
            args = [iterable]
        else:
            members = [proxies._member(m) for m in iterable]
            args = [members] if members else []
        return self._make(proxies.SetProxy, args, name)

    def Namespace(self, *, name=None, **kwds):
        """A shared Namespace with the attributes kwds. With name, the
        namespace of that name (created with kwds when absent); so `name`
        cannot be one of the initial attributes (set it afterwards)."""
        return self._make(proxies.NamespaceProxy, [kwds] if kwds else [], name)

    def Value(self, typecode, value=None, lock=True, *, name=None):
        """A shared Value: typecode is one of "bBhHiIlLqQfdcu" (or a ctypes
        type such as ctypes.c_int); `lock` is accepted for compatibility:
        every operation is atomic in the daemon anyway."""
        typecode = proxies.typecode_of(typecode)
        v = self._make(proxies.ValueProxy, [typecode, value], name)
        return v._set_typecode(typecode)

    def Array(self, typecode, sequence, lock=True, *, name=None):
        """A shared fixed-length Array of typecode holding sequence's items,
        or sequence zeros when it is an int (as multiprocessing.Array)."""
        typecode = proxies.typecode_of(typecode)
        if isinstance(sequence, proxies.ArrayProxy):
            sequence = sequence.tolist()
        elif typecode == "c" and isinstance(sequence, (bytes, bytearray)):
            sequence = [bytes((b,)) for b in sequence]
        elif not isinstance(sequence, int):
            sequence = list(sequence)
        a = self._make(proxies.ArrayProxy, [typecode, sequence], name)
        return a._set_typecode(typecode)

    def Queue(self, maxsize=0, *, name=None):
        """A shared FIFO queue (queue.Queue); maxsize <= 0: unbounded."""
        return self._make(proxies.QueueProxy, [maxsize], name)

    def JoinableQueue(self, maxsize=0, *, name=None):
        """A shared queue with task_done() and join()."""
        return self._make(proxies.JoinableQueueProxy, [maxsize], name)

    def Lock(self, *, name=None):
        """A shared Lock (threading.Lock); released if its holder dies."""
        return self._make(proxies.LockProxy, [], name)

    def RLock(self, *, name=None):
        """A shared RLock, reentrant per connection (one per process)."""
        return self._make(proxies.RLockProxy, [], name)

    def Semaphore(self, value=1, *, name=None):
        return self._make(proxies.SemaphoreProxy, [value], name)

    def BoundedSemaphore(self, value=1, *, name=None):
        return self._make(proxies.BoundedSemaphoreProxy, [value], name)

    def Condition(self, lock=None, *, name=None):
        """A shared Condition over lock (a shared Lock or RLock of this
        daemon), or over an RLock of its own."""
        if lock is not None and not isinstance(lock, (proxies.LockProxy, proxies.RLockProxy)):
            raise TypeError("Condition(lock): lock must be a procshare Lock or RLock, not %s"
                            % type(lock).__name__)
        return self._make(proxies.ConditionProxy, [] if lock is None else [lock], name)

    def Event(self, *, name=None):
        return self._make(proxies.EventProxy, [], name)

    def Barrier(self, parties, action=None, timeout=None, *, name=None):
        """A shared Barrier for parties; timeout is wait()'s default."""
        if action is not None:
            raise ValueError("a procshare Barrier cannot run an action (the daemon runs no "
                             "code): run it in the party whose wait() returns 0")
        return self._make(proxies.BarrierProxy, [parties, timeout], name)


def Manager(*, daemon=None, daemon_args=(), authkey=None, address=None, timeout=None,
            encryption=None):
    """Starts a private procshared and returns its manager, as
    multiprocessing.Manager() does. Use it in a with block, or call
    shutdown(); it is stopped anyway when the program exits. encryption:
    see SyncManager (the daemon's own settings come from daemon_args)."""
    m = SyncManager(address, authkey, daemon=daemon, daemon_args=daemon_args, timeout=timeout,
                    encryption=encryption)
    m.start()
    return m


def connect(address=None, authkey=None, *, timeout=None, encryption=None):
    """A manager attached to the daemon at address (default
    $PROCSHARE_ADDRESS) with authkey (bytes or str; default read from
    $PROCSHARE_AUTHKEY_FILE, else $PROCSHARE_AUTHKEY). shutdown() only
    closes the connection. encryption: "auto" (default, or
    $PROCSHARE_ENCRYPTION), "on", "off" or True/False; see SyncManager."""
    m = SyncManager(address, authkey, timeout=timeout, encryption=encryption)
    m.connect()
    return m
