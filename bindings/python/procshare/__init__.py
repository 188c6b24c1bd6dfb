"""procshare: shared objects served by procshared, with the API of
multiprocessing.managers.

    import procshare
    with procshare.Manager() as m:          # starts a private procshared
        d = m.dict()
        l = m.list(range(3))
        q = m.Queue()

procshare.connect(address, authkey) attaches to a running daemon (default:
$PROCSHARE_ADDRESS and $PROCSHARE_AUTHKEY_FILE). Sessions over TCP are
encrypted (encryption="auto", "on" or "off", default $PROCSHARE_ENCRYPTION;
this needs libsodium). Proxies can be passed to multiprocessing children
(fork, spawn, forkserver) and used from several threads at once; C programs
using libprocshare see the same objects.

Values travel as MessagePack: None, bool, int (64-bit), float, str, bytes,
list, tuple (comes back as a list), dict, and proxies (stored as references,
read back as proxies). Keys compare by their encoding: 1 and 1.0 are
different keys, and so are True and 1.
"""

from .errors import (AuthFailed, ConnectionLost, EncryptionRequired, EncryptionUnavailable,
                     Exists, LimitExceeded, NoSuchMethod, NoSuchObject, OutOfMemory,
                     ProcshareError, ProtocolError, RecordError, Shutdown, Timeout, TooLarge)
from ._connection import Ref
from .managers import Manager, SyncManager, connect, find_daemon
from .proxies import (AcquireResult, AcquirerProxy, ArrayProxy, BarrierProxy, BaseProxy,
                      BoundedSemaphoreProxy, ConditionProxy, DictProxy, EventProxy,
                      JoinableQueueProxy, ListProxy, LockProxy, NamespaceProxy, QueueProxy,
                      RLockProxy, SemaphoreProxy, SetProxy, ValueProxy)

__version__ = "0.1.0"

__all__ = [
    "Manager", "SyncManager", "connect", "find_daemon", "Ref",
    "BaseProxy", "DictProxy", "ListProxy", "SetProxy", "NamespaceProxy", "ValueProxy",
    "ArrayProxy", "QueueProxy", "JoinableQueueProxy", "AcquirerProxy", "LockProxy",
    "RLockProxy", "SemaphoreProxy", "BoundedSemaphoreProxy", "ConditionProxy", "EventProxy",
    "BarrierProxy", "AcquireResult",
    "ProcshareError", "NoSuchObject", "NoSuchMethod", "Exists", "ProtocolError", "TooLarge",
    "AuthFailed", "Timeout", "LimitExceeded", "OutOfMemory", "Shutdown", "ConnectionLost",
    "EncryptionRequired", "EncryptionUnavailable", "RecordError",
]
