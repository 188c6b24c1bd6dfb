#!/usr/bin/env python3
"""The Python side of `make bench`: the same workloads as bench/loadgen,
run against multiprocessing's own SyncManager server, so the two can be
compared in one run on one machine.

Each connection is a worker process with its own proxies (a manager proxy
used from a new process opens its own connection to the server), started
together at a barrier and run for --secs seconds. One line of key=value
results goes to stdout, in loadgen's format:

    pymanager: mode=ops engine=python mix=get conns=16 depth=1 ops=...
               secs=... ops_per_sec=... p50_us=... p99_us=... p999_us=...
               errors=0 rss_before_kb=... rss_after_kb=... srv_cpu_us_per_op=...

srv_cpu_us_per_op is the CPU time the manager's server process used
during the run (all its threads) per operation, as loadgen reports the
daemon's.

Operations (one round trip each, or a pair as in loadgen):
    get     d.get(key)          set     d[key] = "xxx"
    append  l.append("xxx")     queue   q.put("xxx"); q.get()
    lock    lk.acquire(); lk.release()   (a lock per worker)
    value   v.value             (ValueProxy get: Python has no atomic add)

--fill N loads N int -> short str entries into one manager dict (in
chunks, with update()) and reports the server's RSS growth per entry.
"""
import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from multiprocessing.managers import SyncManager

KEYSPACE = 10000
VALUE = "xxx"


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpu_ticks(pid):
    """User + system CPU time of process pid in clock ticks, or -1."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return -1


def one_op(op, objs, rng):
    if op == "get":
        objs["dict"].get("key:%012d" % rng.randrange(KEYSPACE))
    elif op == "set":
        objs["dict"]["key:%012d" % rng.randrange(KEYSPACE)] = VALUE
    elif op == "append":
        objs["list"].append(VALUE)
    elif op == "queue":
        objs["queue"].put(VALUE)
        objs["queue"].get()
    elif op == "lock":
        objs["lock"].acquire()
        objs["lock"].release()
    elif op == "value":
        objs["value"].value
    else:
        raise ValueError(op)


def worker(idx, op, secs, objs, barrier, results):
    rng = random.Random(idx)
    lat = []
    errors = 0
    clock = time.perf_counter_ns
    one_op(op if op not in ("queue", "lock") else "value", objs, rng)  # open the connection first
    barrier.wait()
    start = clock()
    deadline = start + int(secs * 1e9)
    t = start
    while t < deadline:
        try:
            one_op(op, objs, rng)
        except Exception:
            errors += 1
        now = clock()
        lat.append(now - t)
        t = now
    results.put((idx, start, t, lat, errors))


def percentile(sorted_lat, q):
    if not sorted_lat:
        return 0.0
    i = min(len(sorted_lat) - 1, int(q * len(sorted_lat)))
    return sorted_lat[i] / 1000.0


def run_ops(args, m):
    objs = {
        "dict": m.dict(),
        "list": m.list(),
        "queue": m.Queue(),
        "value": m.Value("q", 0),
    }
    if args.op == "get":
        objs["dict"].update({"key:%012d" % i: VALUE for i in range(KEYSPACE)})
    locks = [m.Lock() for _ in range(args.conns)]
    pid = m._process.pid
    before = rss_kb(pid)
    # The parent waits at the barrier too, to read the server's CPU time
    # when the workers start.
    barrier = mp.Barrier(args.conns + 1)
    results = mp.Queue()
    procs = []
    for i in range(args.conns):
        o = dict(objs, lock=locks[i])
        p = mp.Process(target=worker, args=(i, args.op, args.secs, o, barrier, results))
        p.start()
        procs.append(p)
    barrier.wait()
    t0 = cpu_ticks(pid)
    got = [results.get() for _ in procs]
    t1 = cpu_ticks(pid)
    for p in procs:
        p.join()
    after = rss_kb(pid)
    start = min(g[1] for g in got)
    end = max(g[2] for g in got)
    lat = sorted(x for g in got for x in g[3])
    errors = sum(g[4] for g in got)
    secs = (end - start) / 1e9
    cpu = ""
    if t0 >= 0 and t1 >= t0 and lat:
        cpu = " srv_cpu_us_per_op=%.3f" % ((t1 - t0) * 1e6 / os.sysconf("SC_CLK_TCK") / len(lat))
    print("pymanager: mode=ops engine=python mix=%s conns=%d depth=1 ops=%d secs=%.3f ops_per_sec=%.0f "
          "p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%d rss_before_kb=%d rss_after_kb=%d%s"
          % (args.op, args.conns, len(lat), secs, len(lat) / secs if secs > 0 else 0,
             percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 0.999), errors, before, after, cpu))
    return 1 if errors else 0


def run_fill(args, m):
    d = m.dict()
    pid = m._process.pid
    before = rss_kb(pid)
    chunk = 10000
    for lo in range(0, args.fill, chunk):
        d.update({i: "v%07d" % i for i in range(lo, min(args.fill, lo + chunk))})
    n = len(d)
    after = rss_kb(pid)
    print("pymanager: mode=fill entries=%d len=%d errors=0 rss_before_kb=%d rss_after_kb=%d bytes_per_entry=%.1f"
          % (args.fill, n, before, after, (after - before) * 1024.0 / args.fill))
    return 0 if n == args.fill else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--op", default="get", choices=["get", "set", "append", "queue", "lock", "value"])
    ap.add_argument("-c", "--conns", type=int, default=1)
    ap.add_argument("-d", "--secs", type=float, default=2.0)
    ap.add_argument("--fill", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=None,
                    help="run the server and the workers on this CPU (as bench/run.sh does for one connection)")
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # inherited by the manager and the workers
    mp.set_start_method("fork")
    m = SyncManager()
    m.start()
    try:
        return run_fill(args, m) if args.fill else run_ops(args, m)
    finally:
        m.shutdown()


if __name__ == "__main__":
    sys.exit(main())
