"""Producer/consumer over a shared queue, ending with a sentinel: each
consumer stops when it gets None.

    python3 examples/python/producer_consumer.py
"""

import multiprocessing

import _checkout  # noqa: F401  (runs from a checkout; not needed once installed)
import procshare

CONSUMERS = 3


def produce(q, n):
    for i in range(n):
        q.put({"job": i, "payload": "x" * i})


def consume(q, results):
    while True:
        item = q.get()          # blocks in the daemon, not in a busy loop
        if item is None:        # the sentinel: no more work
            break
        results.append(item["job"] * 10)


if __name__ == "__main__":
    with procshare.Manager() as manager:
        q = manager.Queue(maxsize=8)        # producers wait while it is full
        results = manager.list()
        producers = [multiprocessing.Process(target=produce, args=(q, 10)) for _ in range(2)]
        consumers = [multiprocessing.Process(target=consume, args=(q, results))
                     for _ in range(CONSUMERS)]
        for p in producers + consumers:
            p.start()
        for p in producers:
            p.join()
        for _ in consumers:
            q.put(None)                     # one sentinel per consumer
        for p in consumers:
            p.join()
        print("processed", len(results), "jobs; total", sum(results))
