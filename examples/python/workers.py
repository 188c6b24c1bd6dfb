"""Worker processes filling a shared list and a shared dict: the Manager
example of Python's multiprocessing documentation, on procshare.

    python3 examples/python/workers.py
"""

import multiprocessing

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare


def work(d, l, i):
    d[i] = "done by pid %d" % multiprocessing.current_process().pid
    l.append(i * i)


if __name__ == "__main__":
    # Starts a private procshared; it stops when the with block ends.
    with procshare.Manager() as manager:
        d = manager.dict()
        l = manager.list()
        workers = [multiprocessing.Process(target=work, args=(d, l, i)) for i in range(5)]
        for p in workers:
            p.start()
        for p in workers:
            p.join()
        # The workers ran in any order: sort for a stable print.
        print("squares:", sorted(l))
        print("workers:", len(d), "entries, e.g.", d[0].split(" by ")[0])
