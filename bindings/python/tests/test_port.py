"""The promise of the API: a program written for multiprocessing's
managers runs on procshare with only its import changed and prints what it
prints under Python's own managers, under each start method."""

import os
import subprocess
import sys

import pytest

from conftest import BINDINGS, HERE

ORIGINAL = "from multiprocessing import Manager\n"
PORTED = "from procshare import Manager\n"


def _run(path, method):
    env = dict(os.environ, PYTHONPATH=BINDINGS)
    out = subprocess.run([sys.executable, path, method], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_ported_program_prints_the_same(tmp_path, method):
    with open(os.path.join(HERE, "sample_program.py")) as f:
        source = f.read()
    assert source.count(ORIGINAL) == 1
    ported = tmp_path / "ported_program.py"
    ported.write_text(source.replace(ORIGINAL, PORTED))
    expected = _run(os.path.join(HERE, "sample_program.py"), method)
    got = _run(str(ported), method)
    assert len(expected.splitlines()) == 19
    assert got == expected
