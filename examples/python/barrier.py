"""A Barrier: no process starts phase 2 before all have finished phase 1.

    python3 examples/python/barrier.py
"""

import multiprocessing

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare

PARTIES = 4


def worker(barrier, log, i):
    log.append(("phase 1", i))
    arrival = barrier.wait()    # 0 for the first to arrive, PARTIES-1 for the last
    log.append(("phase 2", i))
    if arrival == PARTIES - 1:
        print("worker %d arrived last and released the others" % i)


if __name__ == "__main__":
    with procshare.Manager() as manager:
        barrier = manager.Barrier(PARTIES, timeout=60)
        log = manager.list()
        procs = [multiprocessing.Process(target=worker, args=(barrier, log, i))
                 for i in range(PARTIES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        phases = [phase for phase, _ in log]     # tuples come back as lists
        print("phases in order:", phases == ["phase 1"] * PARTIES + ["phase 2"] * PARTIES)
