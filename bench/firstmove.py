#!/usr/bin/env python3
"""First move of a TA to a node that has never seen its image (issue #15).

Per run: two fresh talosd nodes on 127.0.0.1 (fresh state dirs: node B has
never seen the image); a kvstore TA runs on A, filled to SIZE of state; then
`talos migrate ID --to B --json`, timed around the CLI process with this
script's clock (wall), and what the CLI reports (total, phases). Then, for
comparison, moves of the same TA once the image is known: back to A, to B
again, back to A, and, after node B restarts on its state dir, to B once
more (the image stored, its CFG kept in B's state dir: D43; --forget-cfg
removes the kept CFG before that restart, as a node without D43 would
have it).

Where the first move's wall goes, from node B's log (TALOS_LOG=debug):
image received, checked and stored; target started on demand, and of that
the CFG extraction; the rest is the CLI, the node-to-node connection and
the preamble's round trips, and the migration's own total.

Prints one JSON object per run (--json) or a table of medians.
usage: bench/firstmove.py [--build DIR] [--runs N] [--forget-cfg] [--json] [SIZE]
       (SIZE like 1M, the default)
"""
import argparse, json, os, random, re, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from downtime import Ctl, size_bytes, start_node, stop_nodes  # noqa: E402

VAL = 1000  # bytes per value, as bench/downtime.py


def stop_node(p):
    p.send_signal(signal.SIGTERM)
    p.wait(10)


def migrate(build, node_dir, ta, port, env):
    """`talos migrate --json`: (wall ms of the CLI process, its answer)."""
    cmd = [os.path.join(build, "bin/talos"), "--node", node_dir, "migrate", ta, "--to",
           f"127.0.0.1:{port}", "--json"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, env=env, text=True)
    wall = (time.monotonic() - t0) * 1e3
    if r.returncode != 0:
        raise RuntimeError(f"migrate failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return wall, json.loads(r.stdout)


def cli_wall(build, node_dir, env):
    """Wall of a trivial CLI request (`talos node`): process start + connect."""
    t0 = time.monotonic()
    subprocess.run([os.path.join(build, "bin/talos"), "--node", node_dir, "node"],
                   capture_output=True, env=env, check=True)
    return (time.monotonic() - t0) * 1e3


def log_ms(text, pattern):
    """The milliseconds a log line matching pattern (one group) reports, or None."""
    m = re.findall(pattern, text)
    return float(m[-1]) if m else None


def one(build, size, env, tmp, forget_cfg):
    pa = 20000 + random.randrange(20000)
    pb = pa + 1
    d = tempfile.mkdtemp(dir=tmp)
    os.chmod(d, 0o700)
    na, sa = start_node(build, d, "a", pa, env)
    nb, sb = start_node(build, d, "b", pb, env)
    da, db = os.path.join(d, "a"), os.path.join(d, "b")
    try:
        a = Ctl(sa)
        r = a.req(op="run", image=os.path.abspath(os.path.join(build, "examples/kvstore.ta")))
        assert r.get("ok"), r
        ta = r["id"]
        nkeys = max(1, size // (VAL + 100))
        r = a.req(op="call", id=ta, ecall="fill", args=[str(nkeys), str(VAL)])
        assert r.get("ok"), r
        digest = a.req(op="call", id=ta, ecall="digest", args=[])
        time.sleep(0.5)  # A's warm pool target (started at `run`) settles
        cli = cli_wall(build, da, env)
        with open(os.path.join(d, "b.log")) as f:
            before = len(f.read())
        first_wall, first = migrate(build, da, ta, pb, env)
        time.sleep(0.4)
        with open(os.path.join(d, "b.log")) as f:
            blog = f.read()[before:]
        got = Ctl(sb).req(op="call", id=ta, ecall="digest", args=[])
        if got.get("out") != digest.get("out"):
            raise RuntimeError(f"digest changed in the first move: {got} vs {digest}")
        # The image is known on both nodes now; targets come from warm pools
        # (B refills its pool 300 ms after an arrival).
        back_wall, back = migrate(build, db, ta, pa, env)
        time.sleep(0.6)
        again_wall, again = migrate(build, da, ta, pb, env)
        time.sleep(0.6)
        migrate(build, db, ta, pa, env)
        # Node B restarts on its state dir: the image is stored there, its
        # CFG kept (unless --forget-cfg). No warm target yet for the image.
        stop_node(nb)
        if forget_cfg:
            shutil.rmtree(os.path.join(db, "cfg"), ignore_errors=True)
        with open(os.path.join(d, "b.log")) as f:
            before = len(f.read())
        nb, sb = start_node(build, d, "b", pb, env)
        time.sleep(0.2)
        restart_wall, restart = migrate(build, da, ta, pb, env)
        time.sleep(0.2)
        with open(os.path.join(d, "b.log")) as f:
            rlog = f.read()[before:]
        image_ms = log_ms(blog, r"image for \w+ received, checked and stored in ([0-9.]+) ms")
        start_ms = log_ms(blog, r"no warm target for \w+: started one in ([0-9.]+) ms")
        cfg_ms = log_ms(blog, r"sim: CFG of \S+ extracted in ([0-9.]+) ms")
        known = [x for x in (image_ms, start_ms, first["total_ms"]) if x is not None]
        return {
            "bench": "firstmove", "bytes": size, "state_bytes": first["state_bytes"],
            "cli_ms": cli,
            "first_wall_ms": first_wall, "first_total_ms": first["total_ms"],
            "first_downtime_ms": first["downtime_ms"],
            "first_prepare_ms": first["phases"]["prepare_ms"],
            "first_phases": first["phases"],
            # From node B's log (None: the line was not there).
            "image_ms": image_ms, "target_start_ms": start_ms, "cfg_extract_ms": cfg_ms,
            # The CLI, the node-to-node TLS connection, OFFER and the
            # preamble's answers, the data connection, the final answer.
            "rest_ms": first_wall - sum(known),
            "back_wall_ms": back_wall, "back_total_ms": back["total_ms"],
            "again_wall_ms": again_wall, "again_total_ms": again["total_ms"],
            "restart_wall_ms": restart_wall, "restart_total_ms": restart["total_ms"],
            "restart_target_start_ms": log_ms(rlog, r"no warm target for \w+: started one in ([0-9.]+) ms"),
            "restart_cfg": "extracted" if re.search(r"sim: CFG of \S+ extracted", rlog)
            else "loaded" if re.search(r"sim: CFG of \S+ loaded from", rlog) else "unknown",
            "restart_cfg_ms": log_ms(rlog, r"sim: CFG of \S+ (?:extracted|loaded from \S+) in ([0-9.]+) ms"),
            "forget_cfg": forget_cfg,
        }
    finally:
        stop_nodes((na, nb), d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="Target (issue #15): the first move's wall <= 100 ms at 1 MiB.")
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5, help="runs (fresh nodes each); medians over them")
    ap.add_argument("--forget-cfg", action="store_true",
                    help="remove node B's kept CFG files before it restarts (the node before D43)")
    ap.add_argument("--json", action="store_true", help="one JSON object per run on stdout")
    ap.add_argument("size", nargs="?", default="1M", help="state to fill the TA to (default 1M)")
    o = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="talos-firstmove.")
    os.chmod(tmp, 0o700)
    env = dict(os.environ, TALOS_SIM_CA=os.path.join(tmp, "ca"),
               TALOS_NODE_CA=os.path.join(tmp, "node-ca"), TALOS_LOG="debug")
    rows = []
    try:
        for i in range(o.runs):
            r = one(o.build, size_bytes(o.size), env, tmp, o.forget_cfg)
            r["run"], r["label"] = i, o.size
            rows.append(r)
            if o.json:
                print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if o.json:
        return

    def med(k):
        v = [r[k] for r in rows if r.get(k) is not None]
        return statistics.median(v) if v else float("nan")

    print(f"first move to a node that never saw the image, {o.size}, medians of {o.runs} runs (ms):")
    print(f"  wall {med('first_wall_ms'):.1f} (target <= 100: "
          f"{'met' if med('first_wall_ms') <= 100 else 'NOT met'}); reported total "
          f"{med('first_total_ms'):.1f}, prepare {med('first_prepare_ms'):.1f}, "
          f"downtime {med('first_downtime_ms'):.2f}")
    print(f"  of the wall: image received+checked+stored {med('image_ms'):.1f}, target started "
          f"{med('target_start_ms'):.1f} (CFG extraction {med('cfg_extract_ms'):.1f}), "
          f"migration total {med('first_total_ms'):.1f}, rest {med('rest_ms'):.1f} "
          f"(a bare CLI request: {med('cli_ms'):.1f})")
    print(f"  image known: back {med('back_wall_ms'):.1f} (total {med('back_total_ms'):.1f}), "
          f"again {med('again_wall_ms'):.1f} (total {med('again_total_ms'):.1f})")
    print(f"  to B after its restart: {med('restart_wall_ms'):.1f} (total "
          f"{med('restart_total_ms'):.1f}; target started {med('restart_target_start_ms'):.1f}, "
          f"CFG {sorted(set(r['restart_cfg'] for r in rows))} in {med('restart_cfg_ms'):.1f})")


if __name__ == "__main__":
    main()
