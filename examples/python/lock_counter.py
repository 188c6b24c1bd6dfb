"""A counter shared by processes, protected by a shared Lock: reading and
writing counter.value are two requests, so without the lock increments
would be lost.

    python3 examples/python/lock_counter.py
"""

import multiprocessing

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare

PROCESSES, INCREMENTS = 4, 250


def count(lock, counter):
    for _ in range(INCREMENTS):
        with lock:
            counter.value += 1


if __name__ == "__main__":
    with procshare.Manager() as manager:
        lock = manager.Lock()
        counter = manager.Value("i", 0)
        procs = [multiprocessing.Process(target=count, args=(lock, counter))
                 for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print("counter:", counter.value, "expected:", PROCESSES * INCREMENTS)
        # The same without a lock, in one atomic request: Value.add.
        counter.add(1)
        print("after an atomic add:", counter.value)
