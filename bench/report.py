#!/usr/bin/env python3
"""make bench: turn the JSON lines the benchmarks wrote into Markdown tables
and PNG plots (drawn by gnuplot).

    report.py table ecall|wtrack|overhead|icount|downtime|firstmove|sqlite|secure|targets RESULTS_DIR
    report.py plots RESULTS_DIR PLOTS_DIR

RESULTS_DIR holds one <bench>.jsonl per benchmark (bench/run.sh writes them),
and the migration TSVs (limit.tsv, migrate.tsv, migrate-pooled.tsv: columns as
bench/limit.c and bench/migrate.c print them with --tsv, header dropped).
"targets" is issue #15's table of targets, each verdict computed from those
files (a file or size missing from the run is said so, never filled in).
Every line is one JSON object. Migration series for the plots are the lines,
in any *.jsonl file, that carry "series" (a name), "bytes" (state size) and
"total_ms" and/or "downtime_ms"; bench/run.sh writes "stop-and-copy",
"limit (fresh)", "limit (touched)" and "limit + state root (fresh)"; a pre-copy
benchmark adds lines with
"series": "pre-copy" (any file name) and they are plotted with the others.
A series without points is left out of the plot.
"""
import glob
import json
import statistics
import os
import subprocess
import sys


def lines(res, name=None):
    files = [os.path.join(res, name + ".jsonl")] if name else sorted(glob.glob(os.path.join(res, "*.jsonl")))
    out = []
    for f in files:
        if not os.path.exists(f):
            continue
        with open(f) as fh:
            for ln in fh:
                ln = ln.strip()
                if ln.startswith("{"):
                    out.append(json.loads(ln))
    return out


def table_ecall(res):
    rows = lines(res, "ecall")
    if not rows:
        print("(no ecall results)")
        return
    r = rows[-1]
    print("| call | median | p99 |\n|---|---:|---:|")
    print("| plain function call (no TALOS) | %.1f ns | — |" % r["plain_ns"])
    for key, label in (("passive", "ecall `noop`, passive"), ("switchless", "ecall `noop`, switchless"),
                       ("passive_1k", "ecall `echo` 1 KiB, passive"),
                       ("switchless_1k", "ecall `echo` 1 KiB, switchless"),
                       ("passive_ocall", "ecall + 1 ocall, passive"),
                       ("switchless_ocall", "ecall + 1 ocall, switchless")):
        print("| %s | %.1f µs | %.1f µs |" % (label, r[key]["median"] / 1e3, r[key]["p99"] / 1e3))


def table_wtrack(res):
    rows = lines(res, "wtrack")
    print("| method | region | start µs | first write ns/page | untracked write ns/page | "
          "collect, 0 % dirty µs | 1 % | 10 % | 100 % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if not r.get("available"):
            print("| %s | — | not available on this kernel (probe failed) | | | | | | |" % r["method"])
            continue
        print("| %s | %d MiB | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %.0f |" % (
            r["method"], r["mib"], r["start_us"], r["fault_ns"], r["baseline_ns"], r["collect_0_us"],
            r["collect_1_us"], r["collect_10_us"], r["collect_100_us"]))


def table_overhead(res):
    rows = lines(res, "overhead")
    print("| TA | mode | no migration, ops/s | migration idle, ops/s | write tracking active, ops/s | "
          "overhead of migration support | overhead of write tracking |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %s | %.0f | %.0f | %.0f | %+.2f %% | %+.2f %% |" % (
            r["ta"], r["mode"], r["nomig_ops"], r["normal_ops"], r["wtrack_ops"], r["overhead_pct"],
            r["wtrack_pct"]))


def table_icount(res):
    rows = lines(res, "icount")
    if not rows:
        print("(no icount results)")
        return
    by = {}
    for r in rows:
        by.setdefault(r["ta"], {})[r["build"]] = r
    print("| TA | ecall | no migration, instr/call | migration idle, instr/call | overhead | ≤ 1 % | "
          "overhead of medians | min..max (none / idle) | host instr/call (none / idle) |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    worst = None
    for ta, b in by.items():
        if "nomig" not in b or "normal" not in b:
            continue
        n, m = b["nomig"], b["normal"]
        o = 100 * (m["instr_per_call"] / n["instr_per_call"] - 1)
        if worst is None or o > worst[0]:
            worst = (o, ta)
        print("| %s | %s | %.1f | %.1f | %+.2f %% | %s | %+.2f %% | %.1f..%.1f / %.1f..%.1f | %.1f / %.1f |" % (
            ta, n["ecall"], n["instr_per_call"], m["instr_per_call"], o, "met" if o <= 1 else "NOT met",
            100 * (m["instr_median"] / n["instr_median"] - 1), n["instr_per_call"], n["instr_max"],
            m["instr_per_call"], m["instr_max"], n["host_instr_per_call"], m["host_instr_per_call"]))
    if worst is not None:
        r0 = rows[0]
        print()
        print("- **Migration support costs ≤ 1 %% more instructions per ecall (TA side): %s.** "
              "Worst: %+.2f %% (%s); the lowest count of %d TA%s per build, %d calls each." % (
                  "met" if worst[0] <= 1 else "NOT met", worst[0], worst[1], r0["rounds"],
                  "" if r0["rounds"] == 1 else "s", r0["calls"]))


def table_downtime(res):
    import statistics
    rows = lines(res, "downtime")
    if not rows:
        print("(no downtime results)")
        return
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    groups = {}
    for r in rows:
        groups.setdefault((r["size"], r["mode"]), []).append(r)
    print("| state (filled to) | mode | runs | client downtime ms (median) | min..max | TA downtime ms | client − TA ms | total ms | rounds | sent frozen KiB | sent in all MiB | why it froze | writes/s idle | writes/s during rounds |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for (size, mode), rs in sorted(groups.items()):
        cd = [r["client_downtime_ms"] for r in rs]
        conv = sorted(set(r["converged"] for r in rs))
        print("| %s | %s | %d | %.2f | %.2f..%.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.1f | %s | %.0f | %s |" % (
            "%d KiB" % round(size / 1024) if size < 1048576 else "%d MiB" % round(size / 1048576),
            "pre-copy" if mode == "precopy" else "stop-and-copy",
            len(rs), med(rs, "client_downtime_ms"), min(cd), max(cd), med(rs, "ta_downtime_ms"),
            med(rs, "client_downtime_ms") - med(rs, "ta_downtime_ms"), med(rs, "total_ms"), med(rs, "rounds"), med(rs, "frozen_bytes") / 1024,
            med(rs, "state_bytes") / 1048576, ", ".join(conv),
            med(rs, "writes_per_s"),
            "%.0f" % med(rs, "writes_per_s_migrating") if mode == "precopy" else "(frozen)"))
    # Issue #15: what the client sees of a stop-and-copy is what the TA
    # reports, within 1 ms (64 KiB .. 16 MiB).
    sc = [(size, rs) for (size, mode), rs in groups.items() if mode == "stop" and size <= 16 << 20]
    if sc:
        gaps = [(med(rs, "client_downtime_ms") - med(rs, "ta_downtime_ms"), size, rs) for size, rs in sc]
        worst, at, wrs = max(gaps, key=lambda g: g[0])
        to_b = [r["moved_to_b_ms"] for r in wrs if r.get("moved_to_b_ms") is not None]
        print()
        print("- **Stop-and-copy, client downtime ≤ reported downtime + 1 ms (up to 16 MiB): %s.** "
              "Worst difference of medians %.2f ms (%d KiB)%s." % (
                  "met" if worst <= 1.0 else "NOT met", worst, round(at / 1024),
                  "; of the client's downtime there, %.2f ms (median) passed between node A's "
                  "MOVED and node B's first answer, outside any TA" % statistics.median(to_b)
                  if to_b else ""))
    pre = [rs for (size, mode), rs in groups.items() if mode == "precopy"]
    if pre:
        worst = max(med(rs, "client_downtime_ms") for rs in pre)
        print()
        print("- **≤ 5 ms median downtime at every size (pre-copy, client-measured): %s.** "
              "Worst median %.2f ms." % ("met" if worst <= 5 else "NOT met", worst))


def table_sqlite(res):
    rows = [r for r in lines(res, "sqlite") if r.get("bench") == "sqlite"]
    cost = [r for r in lines(res, "sqlite") if r.get("bench") == "sqlite-heap"]
    if not rows and not cost:
        print("(no sqlite results)")
        return

    def med(mode, k):
        v = [r[k] for r in rows if r["mode"] == mode and r.get(k) is not None]
        return statistics.median(v) if v else float("nan")

    if rows:
        print("| mode | runs | SQLite heap MiB | rows | total ms | downtime ms (nodes) | "
              "client downtime ms | state sent MiB | sent / heap |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for mode, label in (("stop", "stop-and-copy"), ("precopy", "pre-copy, client inserting")):
            n = len([r for r in rows if r["mode"] == mode])
            if not n:
                continue
            cd = med(mode, "client_downtime_ms")
            print("| %s | %d | %.1f | %d | %.1f | %.2f | %s | %.1f | %.2f× |" % (
                label, n, med(mode, "sqlite_heap_bytes") / 2**20, med(mode, "rows_after"),
                med(mode, "total_ms"), med(mode, "downtime_ms"),
                "—" if cd != cd else "%.2f" % cd, med(mode, "state_bytes") / 2**20,
                med(mode, "state_bytes") / med(mode, "sqlite_heap_bytes")))
        print()
    for c in cost:
        verdict = "met" if c["overhead_pct"] <= 5 else "NOT met"
        print("- **The state heap against glibc's malloc, SQLite inserts (target ≤ 5 %%): %s.** "
              "%d rows of 100-byte blobs with an index in one `exec`, timed by the client, medians "
              "of %d runs alternating the two images: state heap %.1f ms, glibc %.1f ms "
              "(%+.1f %%)." % (verdict, c["rows"], c["runs"], c["state_heap_ms"], c["glibc_ms"],
                              c["overhead_pct"]))


def table_firstmove(res):
    rows = lines(res, "firstmove")
    if not rows:
        print("(no firstmove results)")
        return

    def med(k):
        v = [r[k] for r in rows if r.get(k) is not None]
        return statistics.median(v) if v else float("nan")

    print("| move | runs | `talos migrate` wall ms (median) | min..max | total as reported ms | "
          "target started ms | of it, CFG ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    fw = [r["first_wall_ms"] for r in rows]
    print("| A → B, B never saw the image | %d | %.1f | %.1f..%.1f | %.1f | %.1f | %.1f (extracted) |" % (
        len(rows), med("first_wall_ms"), min(fw), max(fw), med("first_total_ms"),
        med("target_start_ms"), med("cfg_extract_ms")))
    for k, label in (("back", "B → A, image known (A's warm pool)"),
                     ("again", "A → B again (B's warm pool)")):
        w = [r[k + "_wall_ms"] for r in rows]
        print("| %s | %d | %.1f | %.1f..%.1f | %.1f | — | — |" % (
            label, len(rows), med(k + "_wall_ms"), min(w), max(w), med(k + "_total_ms")))
    w = [r["restart_wall_ms"] for r in rows]
    how = "/".join(sorted(set(r["restart_cfg"] for r in rows)))
    print("| A → B after B restarted (image stored, no warm target) | %d | %.1f | %.1f..%.1f | %.1f | %.1f | %.1f (%s) |" % (
        len(rows), med("restart_wall_ms"), min(w), max(w), med("restart_total_ms"),
        med("restart_target_start_ms"), med("restart_cfg_ms"), how))
    print()
    print("Where the first move's wall goes (medians; the parts are medians of their own, "
          "so they need not add up exactly): image received, checked and stored on B "
          "%.1f ms; target started on demand %.1f ms, of which CFG extraction %.1f ms; "
          "the migration's own total %.1f ms (prepare %.1f, downtime %.2f); the rest "
          "%.1f ms is the CLI (a bare `talos node` request takes %.1f ms), the "
          "node-to-node TLS connection, OFFER and the preamble's answers, the data "
          "connection and the source node's bookkeeping before it answers." % (
              med("image_ms"), med("target_start_ms"), med("cfg_extract_ms"),
              med("first_total_ms"), med("first_prepare_ms"), med("first_downtime_ms"),
              med("rest_ms"), med("cli_ms")))


def _tsv(res, name):
    """Rows of a TSV the migration section wrote, as lists of floats."""
    out = []
    path = os.path.join(res, name)
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for ln in fh:
            if ln.strip() and not ln.startswith("#"):
                out.append([float(x) for x in ln.rstrip("\n").split("\t")])
    return out


def _human(b):
    return "%d MiB" % round(b / 1048576) if b >= 1048576 else "%d KiB" % round(b / 1024)


def _verdict(checks, wanted):
    """checks: {size: ok?}; wanted: sizes the target names (None: any)."""
    if not checks:
        return "not measured in this run"
    if not all(checks.values()):
        return "**NOT met**"
    missing = [w for w in (wanted or []) if w not in checks]
    if missing:
        return "met where measured; not measured at %s in this run" % ", ".join(_human(m) for m in missing)
    return "met"


def table_targets(res):
    med = statistics.median
    rows_out = []
    # Downtime as the client sees it (bench/downtime.py).
    groups = {}
    for r in lines(res, "downtime"):
        groups.setdefault((r["mode"], r["size"]), []).append(r)
    want = [64 << 10, 1 << 20, 16 << 20]
    checks, parts = {}, []
    for size in want:
        rs = groups.get(("stop", size))
        if rs:
            gap = med(r["client_downtime_ms"] for r in rs) - med(r["ta_downtime_ms"] for r in rs)
            checks[size] = gap <= 1.0
            parts.append("%s: %+.2f ms (client %.2f, TA %.2f)" % (
                _human(size), gap, med(r["client_downtime_ms"] for r in rs),
                med(r["ta_downtime_ms"] for r in rs)))
    rows_out.append(("client-observed downtime, stop-and-copy",
                     "≤ reported downtime + 1 ms, at 64 KiB, 1 MiB, 16 MiB",
                     "; ".join(parts) or "—", _verdict(checks, want)))
    want = [16 << 20, 64 << 20, 256 << 20]
    checks, parts = {}, []
    for size in want:
        rs = groups.get(("precopy", size))
        if rs:
            d = med(r["client_downtime_ms"] for r in rs)
            checks[size] = d <= 5.0
            parts.append("%s: %.2f ms" % (_human(size), d))
    rows_out.append(("client-observed downtime, pre-copy, under writes", "≤ 5 ms at 16, 64, 256 MiB",
                     "; ".join(parts) or "—", _verdict(checks, want)))
    # bench/migrate.c against bench/limit.c: column 1 size, 4 total (ms);
    # limit: 2 touched, 3 fresh.
    lim = {r[0]: r for r in _tsv(res, "limit.tsv")}
    pooled, cold = _tsv(res, "migrate-pooled.tsv"), _tsv(res, "migrate.tsv")
    one = [r for r in pooled if r[0] == 1 << 20]
    rows_out.append(("1 MiB, warm pool, `total` as reported", "≤ 3 ms",
                     "%.2f ms" % one[0][3] if one else "—",
                     _verdict({1 << 20: one[0][3] <= 3.0} if one else {}, [1 << 20])))
    for label, tsv, col, limit_name in (
            ("≥ 16 MiB, warm pool, stop-and-copy `total`", pooled, 1, "touched"),
            ("≥ 16 MiB, cold target, stop-and-copy `total`", cold, 2, "fresh")):
        checks, parts = {}, []
        for r in tsv:
            if r[0] >= 16 << 20 and r[0] in lim:
                ratio = r[3] / lim[r[0]][col]
                checks[r[0]] = ratio <= 1.5
                parts.append("%s: %.2f× (%.1f / %.1f ms)" % (_human(r[0]), ratio, r[3], lim[r[0]][col]))
        rows_out.append((label, "≤ 1.5× the %s-memory limit" % limit_name, "; ".join(parts) or "—",
                         _verdict(checks, None)))
    fm = lines(res, "firstmove")
    if fm:
        w = med(r["first_wall_ms"] for r in fm)
        rows_out.append(("`talos migrate` wall, 1 MiB, first move to a node that has never seen the image",
                         "≤ 100 ms", "%.1f ms (median of %d; CFG extraction %.0f ms of it)" % (
                             w, len(fm), med(r["cfg_extract_ms"] for r in fm if r.get("cfg_extract_ms") is not None)
                             if any(r.get("cfg_extract_ms") is not None for r in fm) else float("nan")),
                         _verdict({1 << 20: w <= 100.0}, None)))
    else:
        rows_out.append(("`talos migrate` wall, 1 MiB, first move to a node that has never seen the image",
                         "≤ 100 ms", "—", "not measured in this run"))
    # Instructions per ecall (another benchmark writes icount.jsonl).
    ic = {}
    for r in lines(res, "icount"):
        if r.get("bench") == "icount" and "instr_per_call" in r:
            ic.setdefault(r.get("ta", "?"), {}).setdefault(r.get("build"), []).append(r["instr_per_call"])
    checks, parts = {}, []
    for ta, builds in sorted(ic.items()):
        if builds.get("normal") and builds.get("nomig"):
            n, b = med(builds["normal"]), med(builds["nomig"])
            pct = (n / b - 1) * 100
            checks[ta] = pct <= 1.0
            parts.append("%s: %+.2f %% (%.1f vs %.1f)" % (ta, pct, n, b))
    rows_out.append(("migration support, instructions per ecall", "≤ 1 % over the image built without it",
                     "; ".join(parts) or "not measured in this run",
                     ("met" if all(checks.values()) else "**NOT met**") if checks else "not measured in this run"))
    print("| target | limit | measured in this run | verdict |")
    print("|---|---|---|---|")
    for t, lim_s, got, v in rows_out:
        print("| %s | %s | %s | %s |" % (t, lim_s, got, v))


def table_secure(res):
    """Issue #17: secure sessions against the plain path, and the two targets."""
    med = statistics.median
    rows = lines(res, "secure")
    if not rows:
        print("(no secure-session results)")
        return
    print("| measurement | plain | secure | secure / plain | target | verdict |")
    print("|---|---|---|---|---|---|")
    for r in (x for x in rows if x.get("bench") == "secure-rtt"):
        via = "TCP to the node's port" if r["path"] == "secure-tcp" else "the node's control socket"
        ok = r["ratio"] <= 1.3
        print("| call round trip, %s TA, secure via %s (median of %d rounds × %d calls) "
              "| %.1f µs | %.1f µs | %.2f× | ≤ 1.3× | %s |" % (
                  r["mode"], via, r["rounds"], r["calls"], r["plain_us"], r["secure_us"], r["ratio"],
                  "met" if ok else "**NOT met**"))
    for r in (x for x in rows if x.get("bench") == "sockrtt"):
        print("| floor (bench/sockrtt.c, during the %s rounds): one 64-byte ping-pong between two "
              "processes | Unix socket %.1f µs | TCP loopback %.1f µs | TCP − Unix: %+.1f µs | — | — |" % (
                  r["mode"], r["unix_us"], r["tcp_us"], r["tcp_us"] - r["unix_us"]))
    for r in (x for x in rows if x.get("bench") == "secure-cli"):
        print("| one-shot `talos call` (process start to exit, median) | %.2f ms | %.2f ms | %.2f× "
              "| ≤ 2× for `--secure` to become the default | %s |" % (
                  r["plain_ms"], r["secure_ms"], r["ratio"],
                  "within 2×" if r["ratio"] <= 2.0 else "over 2×"))
    print()
    print("| session setup (connect, preamble, TLS 1.3, evidence verified, WELCOME) | median | p90 |")
    print("|---|---|---|")
    for r in (x for x in rows if x.get("bench") == "secure-setup"):
        print("| via %s, %d sessions | %.2f ms | %.2f ms |" % (
            "TCP" if r["path"] == "tcp" else "the control socket", r["sessions"],
            r["setup_median_ms"], r["setup_p90_ms"]))
    print()
    print("| secure clients (each its own session, TCP) | calls/s |")
    print("|---|---|")
    for r in (x for x in rows if x.get("bench") == "secure-load"):
        print("| %d | %.0f |" % (r["clients"], r["calls_per_s"]))
    for n in sorted({x["clients"] for x in rows if x.get("bench") == "secure-precopy"}):
        pc = [x for x in rows if x.get("bench") == "secure-precopy" and x["clients"] == n]
        print()
        excl = med(r["move_wait_less_reconnect_ms"] for r in pc)
        print("| pre-copy of a %.0f MiB kvstore under %d secure client%s (median of %d runs) | ms |" % (
            med(r["state_bytes"] for r in pc) / 2**20, n, "" if n == 1 else "s", len(pc)))
        print("|---|---|")
        print("| TA-reported downtime | %.2f |" % med(r["ta_downtime_ms"] for r in pc))
        print("| longest wait of a client for the call during which its session moved "
              "(client's clock) | %.2f |" % med(r["move_wait_ms"] for r in pc))
        print("| ... less the reconnection and re-verification paid during that call "
              "(target ≤ 5 ms: %s) | %.2f |" % ("met" if excl <= 5.0 else "**NOT met**", excl))
        print("| longest reconnection + re-verification after the move | %.2f |" %
              med(r["max_reconnect_setup_ms"] for r in pc))
        print("| for comparison: the other calls of the same runs, p99 / max wait | %.2f / %.2f |" % (
            med(r["other_calls_p99_ms"] for r in pc), med(r["other_calls_max_ms"] for r in pc)))
        print("| clients that followed the move (each run) | %s |" %
              ", ".join(str(r["clients_moved"]) for r in pc))


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plots(res, out):
    os.makedirs(out, exist_ok=True)
    series = {}
    for r in lines(res):
        if "series" in r and "bytes" in r:
            series.setdefault(r["series"], []).append(r)
            # The same runs as the TA reported them: client vs reported
            # downtime side by side (issue #15).
            if "ta_downtime_ms" in r and "(client" in r["series"]:
                rep = r["series"].replace("(client, under writes)", "(TA-reported, same runs)")
                series.setdefault(rep, []).append({"bytes": r["bytes"],
                                                   "downtime_ms": r["ta_downtime_ms"]})
    order = ["pre-copy (client, under writes)", "pre-copy (TA-reported, same runs)",
             "stop-and-copy (client, under writes)", "stop-and-copy (TA-reported, same runs)",
             "pre-copy",
             "stop-and-copy", "limit + state root (fresh)", "limit (fresh)", "limit (touched)"]
    names = [s for s in order if s in series] + sorted(s for s in series if s not in order)
    made = []
    for key, title, fname in (("total_ms", "Migration time vs state size", "migration-time.png"),
                              ("downtime_ms", "Downtime vs state size", "downtime.png")):
        plotted = []
        for s in names:
            # One point per size: the median of its runs.
            by_size = {}
            for p in series[s]:
                if p.get(key) is not None:
                    by_size.setdefault(p["bytes"], []).append(p[key])
            pts = sorted((b, statistics.median(v)) for b, v in by_size.items())
            if not pts:
                continue
            dat = os.path.join(out, ".%s-%s.dat" % (key, "".join(c if c.isalnum() else "_" for c in s)))
            with open(dat, "w") as fh:
                for b, v in pts:
                    fh.write("%.6f %.6f\n" % (b / 1048576.0, v))
            plotted.append("'%s' using 1:2 with linespoints title '%s'" % (dat, s))
        if not plotted:
            continue
        gnuplot("""set terminal pngcairo size 900,560 font ',11'
set output '%s'
set title '%s (sim backend: no hardware isolation)'
set xlabel 'state size (MiB)'
set ylabel 'ms'
set logscale xy
set grid
set key top left
plot %s
""" % (os.path.join(out, fname), title, ", ".join(plotted)))
        made.append(fname)
    rows = lines(res, "overhead")
    if rows:
        dat = os.path.join(out, ".overhead.dat")
        with open(dat, "w") as fh:
            for r in rows:
                base = r["nomig_ops"] or 1
                fh.write('"%s %s" %.2f %.2f %.2f\n' % (r["ta"], r["mode"], 100.0,
                                                       100.0 * r["normal_ops"] / base,
                                                       100.0 * r["wtrack_ops"] / base))
        gnuplot("""set terminal pngcairo size 900,560 font ',11'
set output '%s'
set title 'Throughput relative to a runtime without migration support (= 100)'
set ylabel 'ops/s, %% of no-migration build'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set key outside bottom center horizontal
plot '%s' using 2:xtic(1) title 'no migration', '' using 3 title 'migration compiled in, idle', \\
     '' using 4 title 'write tracking active'
""" % (os.path.join(out, "overhead.png"), dat))
        made.append("overhead.png")
    rows = [r for r in lines(res, "wtrack") if r.get("available")]
    if rows:
        big = max(r["mib"] for r in rows)
        dat = os.path.join(out, ".wtrack.dat")
        with open(dat, "w") as fh:
            for r in rows:
                if r["mib"] == big:
                    fh.write('"%s" %.1f %.1f %.1f %.1f\n' % (r["method"], r["collect_0_us"], r["collect_1_us"],
                                                             r["collect_10_us"], r["collect_100_us"]))
        gnuplot("""set terminal pngcairo size 900,560 font ',11'
set output '%s'
set title 'Cost of one collect over %d MiB, by share of pages written'
set ylabel 'µs'
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left
plot '%s' using ($2+0.1):xtic(1) title '0 %%', '' using 3 title '1 %%', '' using 4 title '10 %%', \\
     '' using 5 title '100 %%'
""" % (os.path.join(out, "wtrack-collect.png"), big, dat))
        made.append("wtrack-collect.png")
    for f in glob.glob(os.path.join(out, ".*.dat")):
        os.remove(f)
    print(" ".join(made))


def main(argv):
    if len(argv) == 3 and argv[0] == "table":
        {"ecall": table_ecall, "wtrack": table_wtrack, "overhead": table_overhead,
         "icount": table_icount, "downtime": table_downtime, "firstmove": table_firstmove,
         "sqlite": table_sqlite, "secure": table_secure,
         "targets": table_targets}[argv[1]](argv[2])
    elif len(argv) == 3 and argv[0] == "plots":
        plots(argv[1], argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
