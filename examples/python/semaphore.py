"""A Semaphore limiting how many processes use a resource at once: six
workers, at most two inside at any time.

    python3 examples/python/semaphore.py
"""

import multiprocessing
import time

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare

LIMIT = 2


def use_resource(sem, inside, peak, i):
    with sem:
        now = inside.add(1)                 # atomic: no lock needed
        peak_seen = peak.value
        while now > peak_seen:              # record the highest count seen
            swapped, peak_seen = peak.cas(peak_seen, now)
            if swapped:
                break
        time.sleep(0.05)                    # the "work" done with the resource
        inside.add(-1)


if __name__ == "__main__":
    with procshare.Manager() as manager:
        sem = manager.BoundedSemaphore(LIMIT)
        inside, peak = manager.Value("i", 0), manager.Value("i", 0)
        procs = [multiprocessing.Process(target=use_resource, args=(sem, inside, peak, i))
                 for i in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print("at most", peak.value, "workers were inside at once (limit %d)" % LIMIT)
