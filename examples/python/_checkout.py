"""Lets an example run straight from a procshare checkout:

    python3 examples/python/workers.py

When procshare is not installed, it puts the checkout's bindings/python on
sys.path (Manager() then also finds the checkout's build/procshared). A
program of your own needs none of this: install procshare and import it.
"""

import importlib.util
import os
import sys

if importlib.util.find_spec("procshare") is None:
    sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     os.pardir, os.pardir, "bindings", "python")))
