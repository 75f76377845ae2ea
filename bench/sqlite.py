#!/usr/bin/env python3
"""SQLite in a TA (issue #16): migration of a large database, and the cost
of the state heap against glibc's malloc.

Migration: two talosd nodes on 127.0.0.1; examples/sqlite.ta with a table
of 1000-byte random blobs and an index, filled until SQLite holds SIZE of
heap (sqlite3_memory_used); then `migrate` A -> B, stop-and-copy and (a new
TA) pre-copy while a client inserts rows one call at a time through node
A's control socket and follows the TA to B on MOVED. Reported: the
migration's total and downtime as the nodes answer them, the client's
downtime (its first answer from B minus its last from A, its own clock),
the bytes of state sent against SQLite's heap, and the row count after.

Heap cost: the same image built with SQLite's heap left to glibc
(tests/ta/sqlite-sysmalloc.ta, D47) against examples/sqlite.ta, on one
node: each run a fresh TA of each (order alternating) inserts ROWS rows of
100-byte blobs with an index in one `exec`, timed by the client around
the call; medians over RUNS runs. Target (issue #16): the state heap costs
at most 5 % more.

usage: bench/sqlite.py [--build DIR] [--runs N] [--rows N] [--json] [SIZE]
The sim backend gives no hardware isolation.
"""
import argparse, json, os, random, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from downtime import Ctl, size_bytes, start_node, stop_nodes  # noqa: E402


def run_ta(ctl, image):
    r = ctl.req(op="run", image=os.path.abspath(image))
    assert r.get("ok"), r
    return r["id"]


def call(ctl, ta, ecall, *args):
    r = ctl.req(op="call", id=ta, ecall=ecall, args=list(args))
    if not r.get("ok"):
        raise RuntimeError(f"{ecall}: {r}")
    return r.get("out", "")


def fill(ctl, ta, size):
    call(ctl, ta, "exec", "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB); CREATE INDEX ib ON t(b)")
    n = 0
    while int(call(ctl, ta, "heap")) < size:
        call(ctl, ta, "exec", "WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM c WHERE k<2000) "
             "INSERT INTO t(b) SELECT randomblob(1000) FROM c")
        n += 2000
    return n


class Inserter(threading.Thread):
    """One INSERT per call, closed loop, following the TA on MOVED."""

    def __init__(self, sa, sb, ta):
        super().__init__(daemon=True)
        self.a, self.b, self.ta = Ctl(sa), Ctl(sb), ta
        self.on_b, self.stop = False, False
        self.last_a = self.first_b = None
        self.acked = 0

    def run(self):
        while not self.stop:
            r = (self.b if self.on_b else self.a).req(
                op="call", id=self.ta, ecall="exec", args=["INSERT INTO t(b) VALUES (randomblob(100))"])
            t = time.monotonic()
            if r.get("ok"):
                self.acked += 1
                if self.on_b:
                    self.first_b = self.first_b or t
                else:
                    self.last_a = t
            elif not self.on_b and r.get("error") == "MOVED":
                self.on_b = True
            else:
                time.sleep(0.0001)


def migration(build, size, mode, env, tmp):
    pa = 20000 + random.randrange(20000)
    pb = pa + 1
    d = tempfile.mkdtemp(dir=tmp)
    na, sa = start_node(build, d, "a", pa, env)
    nb, sb = start_node(build, d, "b", pb, env)
    try:
        a = Ctl(sa)
        ta = run_ta(a, os.path.join(build, "examples/sqlite.ta"))
        rows = fill(a, ta, size)
        heap = int(call(a, ta, "heap"))
        c = None
        if mode == "precopy":
            c = Inserter(sa, sb, ta)
            c.start()
            time.sleep(0.3)
        m = Ctl(sa).req(op="migrate", id=ta, to=f"127.0.0.1:{pb}", precopy=(mode == "precopy"))
        if not m.get("ok"):
            raise RuntimeError(f"migration failed: {m}")
        if c:
            for _ in range(3000):
                if c.first_b is not None:
                    break
                time.sleep(0.001)
            time.sleep(0.1)
            c.stop = True
            c.join(5)
        count = json.loads(call(Ctl(sb), ta, "query", "SELECT count(*) FROM t").strip())[0]
        out = {"bench": "sqlite", "mode": mode, "size": size, "rows_filled": rows,
               "sqlite_heap_bytes": heap, "state_bytes": m["state_bytes"],
               "total_ms": m["total_ms"], "downtime_ms": m["downtime_ms"], "rows_after": count}
        if c:
            if c.first_b is None or c.last_a is None:
                raise RuntimeError("the client never saw the TA serve on both nodes")
            out["client_downtime_ms"] = (c.first_b - c.last_a) * 1e3
            out["acked_inserts"] = c.acked
            if count != rows + c.acked:
                raise RuntimeError(f"rows after: {count}, wanted {rows} + {c.acked} acknowledged")
        return out
    finally:
        stop_nodes((na, nb), d)


def heap_cost(build, runs, rows, env, tmp):
    images = {"state heap": os.path.join(build, "examples/sqlite.ta"),
              "glibc malloc": os.path.join(build, "tests/ta/sqlite-sysmalloc.ta")}
    d = tempfile.mkdtemp(dir=tmp)
    n, s = start_node(build, d, "a", 20000 + random.randrange(20000), env)
    times = {k: [] for k in images}
    sql = ("WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM c WHERE k<%d) "
           "INSERT INTO t(b) SELECT randomblob(100) FROM c" % rows)
    try:
        a = Ctl(s)
        for r in range(runs):
            order = list(images) if r % 2 == 0 else list(reversed(images))
            for k in order:
                ta = run_ta(a, images[k])
                call(a, ta, "exec", "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB); CREATE INDEX ib ON t(b)")
                call(a, ta, "exec", sql.replace("<%d" % rows, "<1000"))  # warm-up
                t0 = time.monotonic()
                call(a, ta, "exec", sql)
                times[k].append((time.monotonic() - t0) * 1e3)
                a.req(op="stop", id=ta)
    finally:
        stop_nodes((n,), d)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"bench": "sqlite-heap", "rows": rows, "runs": runs,
            "state_heap_ms": med["state heap"], "glibc_ms": med["glibc malloc"],
            "overhead_pct": (med["state heap"] / med["glibc malloc"] - 1) * 100,
            "state_heap_runs": times["state heap"], "glibc_runs": times["glibc malloc"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("size", nargs="?", default="64M")
    o = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="talos-sqlite.")
    env = dict(os.environ, TALOS_SIM_CA=os.path.join(tmp, "ca"),
               TALOS_NODE_CA=os.path.join(tmp, "node-ca"), TALOS_LOG="warn")
    res = []
    try:
        for mode in ("stop", "precopy"):
            for _ in range(o.runs):
                res.append(migration(o.build, size_bytes(o.size), mode, env, tmp))
        cost = heap_cost(o.build, max(o.runs, 5), o.rows, env, tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    if o.json:
        for r in res + [cost]:
            print(json.dumps(r), flush=True)
        return
    med = lambda mode, k: statistics.median(r[k] for r in res if r["mode"] == mode)
    print(f"SQLite TA, {o.size} of SQLite heap, medians of {o.runs} runs (ms):")
    for mode in ("stop", "precopy"):
        line = (f"  {mode:8} total {med(mode, 'total_ms'):8.1f}  downtime {med(mode, 'downtime_ms'):7.2f}  "
                f"state sent {med(mode, 'state_bytes') / 2**20:6.1f} MiB for {med(mode, 'sqlite_heap_bytes') / 2**20:6.1f} MiB of heap")
        if mode == "precopy":
            line += f"  client downtime {med(mode, 'client_downtime_ms'):6.2f}"
        print(line)
    print(f"  heap cost: {cost['rows']} inserts in one exec, medians of {cost['runs']}: state heap "
          f"{cost['state_heap_ms']:.1f} ms, glibc {cost['glibc_ms']:.1f} ms: {cost['overhead_pct']:+.1f} % "
          f"(target <= 5 %: {'met' if cost['overhead_pct'] <= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
