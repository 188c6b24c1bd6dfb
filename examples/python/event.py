"""An Event: workers get ready, then wait until the main process says go.

    python3 examples/python/event.py
"""

import multiprocessing

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare


def worker(go, ready, log, i):
    ready.put(i)
    go.wait()                   # parked in the daemon until go.set()
    log.append("worker %d started" % i)


if __name__ == "__main__":
    with procshare.Manager() as manager:
        go, ready, log = manager.Event(), manager.Queue(), manager.list()
        procs = [multiprocessing.Process(target=worker, args=(go, ready, log, i))
                 for i in range(3)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get()         # every worker is ready
        print("before go:", len(log), "workers started")
        go.set()
        for p in procs:
            p.join()
        print("after go:", sorted(log))
