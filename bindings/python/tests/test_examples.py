"""The examples under examples/python run and print what they promise."""

import os
import subprocess
import sys

import pytest

from conftest import REPO

EXPECTED = {
    "workers.py": ["squares: [0, 1, 4, 9, 16]", "workers: 5 entries, e.g. done"],
    "producer_consumer.py": ["processed 20 jobs; total 900"],
    "lock_counter.py": ["counter: 1000 expected: 1000", "after an atomic add: 1001"],
    "semaphore.py": ["at most 2 workers were inside at once (limit 2)"],
    "event.py": ["before go: 0 workers started",
                 "after go: ['worker 0 started', 'worker 1 started', 'worker 2 started']"],
    "barrier.py": ["worker %d arrived last and released the others", "phases in order: True"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name):
    path = os.path.join(REPO, "examples", "python", name)
    out = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    if name == "barrier.py":
        # Which worker arrives last varies.
        assert any(lines[0] == EXPECTED[name][0] % i for i in range(4))
        lines = lines[1:]
        assert lines == EXPECTED[name][1:]
    else:
        assert lines == EXPECTED[name]
