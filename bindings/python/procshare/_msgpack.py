"""The msgpack package, the client's one dependency. When this interpreter
has none (a Python built from source, a pyenv one) but Debian's
python3-msgpack is installed, that copy is used: its pure-Python fallback
works on any Python 3, and its C extension loads when the Python versions
match. Only msgpack is taken from there; the path is not left behind."""

import importlib
import sys

_DEBIAN = "/usr/lib/python3/dist-packages"

try:
    import msgpack
except ImportError:
    if _DEBIAN in sys.path:
        raise
    sys.path.append(_DEBIAN)
    try:
        msgpack = importlib.import_module("msgpack")
    except ImportError:
        raise ImportError("procshare needs the msgpack package: pip install msgpack, or "
                          "apt-get install python3-msgpack") from None
    finally:
        sys.path.remove(_DEBIAN)
