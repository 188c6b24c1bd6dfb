"""A program written for Python's multiprocessing managers, in the style of
the tutorials. test_port.py runs it as it is and with its one import line
changed to procshare's, and compares what the two print."""

import multiprocessing as mp
import queue
import sys
import threading
from multiprocessing import Manager


def worker(results, log, tasks, done, lock, counter, ns, i):
    while True:
        item = tasks.get()
        if item is None:
            break
        results[item] = item * item
        log.append(item)
        with lock:
            counter.value += 1
        ns.last_worker = i
    done.put("worker %d" % i)


def wait_for_go(event, barrier, out, i):
    event.wait()
    out.append(i)
    barrier.wait()


def main():
    if len(sys.argv) > 1:
        mp.set_start_method(sys.argv[1])
    with Manager() as manager:
        results = manager.dict()
        log = manager.list()
        tasks, done = manager.Queue(), manager.Queue()
        lock = manager.Lock()
        counter = manager.Value("i", 0)
        ns = manager.Namespace(label="tasks", last_worker=None)

        for n in range(20):
            tasks.put(n)
        workers = [mp.Process(target=worker,
                              args=(results, log, tasks, done, lock, counter, ns, i))
                   for i in range(4)]
        for p in workers:
            p.start()
        for _ in workers:
            tasks.put(None)
        for p in workers:
            p.join()

        print(sorted(results.items())[:5], len(results))
        print(sorted(log) == list(range(20)), counter.value)
        print(sorted(done.get() for _ in workers))
        print(ns.label, ns.last_worker in range(4))
        try:
            done.get_nowait()
        except queue.Empty:
            print("queue empty")

        log.sort()
        del log[5:]
        log.extend([100, 200])
        log[0] = "zero"
        print(log, log[1:3], len(log), 100 in log, log.index(200))
        print(results.get(3), results.get(99, "missing"), 19 in results)
        print(results.pop(19), results.setdefault(50, "new"), len(results))
        try:
            results["nope"]
        except KeyError as e:
            print("KeyError", e)
        try:
            log[99]
        except IndexError as e:
            print("IndexError", e)
        nested = manager.dict({"a": 1})
        print(nested, dict(nested), sorted(nested.keys()))

        ns.extra = [1, 2]
        ns.last_worker = "all done"
        print(ns)
        counter.value += 10
        print(counter.value, counter)

        array = manager.Array("i", [3, 1, 2])
        array[0] = 30
        print(len(array), array[:], list(array))

        event = manager.Event()
        barrier = manager.Barrier(3)
        out = manager.list()
        threads = [threading.Thread(target=wait_for_go, args=(event, barrier, out, i))
                   for i in range(2)]
        for t in threads:
            t.start()
        print("event set?", event.is_set())
        event.set()
        barrier.wait()
        for t in threads:
            t.join()
        print(sorted(out), event.is_set(), barrier.broken)

        cond = manager.Condition()
        with cond:
            print("wait timed out:", cond.wait(0.01) is False)
        sem = manager.BoundedSemaphore(2)
        print(sem.acquire(), sem.acquire(), sem.acquire(False))
        sem.release()
        sem.release()
        try:
            sem.release()
        except ValueError as e:
            print("ValueError", e)


if __name__ == "__main__":
    main()
