#!/usr/bin/env python3
"""Secure sessions against the plain path (issue #17).

Two talosd nodes on 127.0.0.1; a kvstore TA; every figure measured by a
client's own clock (tests/tools/sclient, the client library of
include/talos/client.h):

- round trip of `put k v` once a session is up, secure (TLS in the TA,
  relayed by the node, over TCP to the node's port and over the node's
  control socket) against the plain path (JSON on the control socket),
  passive and switchless TAs; the three are measured in alternation, round
  after round, and each round gives a ratio: the median of the ratios is
  reported;
- session setup (connect, preamble, TLS handshake, evidence verification,
  HELLO/WELCOME), and a one-shot `talos call` against `talos call --secure`
  (process start to exit, what a user waits for);
- secure calls/s with 1, 8 and 50 clients (each its own session);
- a pre-copy migration of a 16 MiB kvstore under 1 and under 8 secure clients: the
  longest any client waited for an answer (its downtime, reconnection and
  re-verification included), the TA-reported downtime, and the longest
  reconnection (setup) a client paid after the move.

Prints one JSON object per measurement (--json).
usage: bench/secure.py [--build DIR] [--rounds N] [--calls N] [--json]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from downtime import Ctl, start_node, stop_nodes  # noqa: E402


def sclient(build, env, node, ta, meas, *args):
    cmd = [os.path.join(build, "tests/tools/sclient"), "--allow-sim", "--anchors",
           os.path.join(env["TALOS_SIM_CA"], "ca.pem"), "--measurement", meas, "--node", node,
           "--ta", ta] + [str(a) for a in args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"sclient {args}: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_ta(ctl, image, mode):
    r = ctl.req(op="run", image=os.path.abspath(image), mode=mode)
    assert r.get("ok"), r
    return r["id"], r["measurement"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8],
                    help="secure clients during the pre-copy (each count: 3 runs)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tmp = tempfile.mkdtemp(prefix="talos-bench-secure.")
    os.chmod(tmp, 0o700)
    env = dict(os.environ, TALOS_SIM_CA=os.path.join(tmp, "ca"),
               TALOS_NODE_CA=os.path.join(tmp, "node-ca"))
    procs = []
    out = []

    def emit(o):
        out.append(o)
        print(json.dumps(o), flush=True)

    try:
        pa, sa = start_node(build, tmp, "a", 29311, env)
        procs.append(pa)
        pb, sb = start_node(build, tmp, "b", 29312, env)
        procs.append(pb)
        ca = Ctl(sa)
        kv = os.path.join(build, "examples/kvstore.ta")
        tcp, unix = "127.0.0.1:29311", "unix:" + sa
        # 1. Round trips, passive and switchless.
        for mode in ("passive", "switchless"):
            ta, meas = run_ta(ca, kv, mode)
            rows = {"plain": [], "secure-tcp": [], "secure-unix": []}
            floor = {"unix": [], "tcp": []}
            for _ in range(a.rounds):
                # The kernel's own round trip, Unix socket and TCP loopback
                # (bench/sockrtt.c), in the same rounds.
                r = subprocess.run([os.path.join(build, "bench/sockrtt"), str(a.calls)],
                                   capture_output=True, text=True, timeout=120)
                fj = json.loads(r.stdout)
                floor["unix"].append(fj["unix_us"])
                floor["tcp"].append(fj["tcp_us"])
                rows["plain"].append(sclient(build, env, unix, ta, meas, "plain-rtt", sa, a.calls,
                                             "put", "k", "v")["median_us"])
                rows["secure-tcp"].append(sclient(build, env, tcp, ta, meas, "rtt", a.calls,
                                                  "put", "k", "v")["median_us"])
                rows["secure-unix"].append(sclient(build, env, unix, ta, meas, "rtt", a.calls,
                                                   "put", "k", "v")["median_us"])
            for path in ("secure-tcp", "secure-unix"):
                ratios = [s / p for s, p in zip(rows[path], rows["plain"])]
                emit({"bench": "secure-rtt", "mode": mode, "path": path, "rounds": a.rounds,
                      "calls": a.calls, "plain_us": statistics.median(rows["plain"]),
                      "secure_us": statistics.median(rows[path]),
                      "ratio": statistics.median(ratios)})
            emit({"bench": "sockrtt", "mode": mode, "unix_us": statistics.median(floor["unix"]),
                  "tcp_us": statistics.median(floor["tcp"])})
            ca.req(op="stop", id=ta)
        # 2. Session setup, 3. calls/s.
        ta, meas = run_ta(ca, kv, "passive")
        # One-shot CLI calls, as a user types them: process start to exit.
        talos = os.path.join(build, "bin/talos")
        cli = {"plain": [], "secure": []}
        for _ in range(15 if a.rounds > 1 else 3):
            for kind, extra in (("plain", []), ("secure", ["--secure", "--allow-sim",
                                                            "--measurement", meas])):
                t0 = time.monotonic()
                r = subprocess.run([talos, "--node", os.path.dirname(sa), "call"] + extra +
                                   [ta, "put", "k", "v"], env=env, capture_output=True)
                cli[kind].append((time.monotonic() - t0) * 1e3)
                if r.returncode != 0:
                    raise RuntimeError(f"talos call {kind}: {r.stderr}")
        emit({"bench": "secure-cli", "plain_ms": statistics.median(cli["plain"]),
              "secure_ms": statistics.median(cli["secure"]),
              "ratio": statistics.median(cli["secure"]) / statistics.median(cli["plain"])})
        for node in (tcp, unix):
            r = sclient(build, env, node, ta, meas, "setup", 30 if a.rounds > 1 else 5)
            emit({"bench": "secure-setup", "path": "tcp" if node == tcp else "unix", **r})
        for n in (1, 8, 50):
            r = sclient(build, env, tcp, ta, meas, "load", n, 2 if a.rounds > 1 else 0.5,
                        "put", "k{i}", "v")
            emit({"bench": "secure-load", **r})
        ca.req(op="stop", id=ta)
        # 4. Pre-copy under 8 secure clients.
        for run, nclients in [(r, c) for c in a.clients for r in range(3 if a.rounds > 1 else 1)]:
            ta, meas = run_ta(ca, kv, "passive")
            r = ca.req(op="call", id=ta, ecall="fill", args=["16000", "1000", str(run + 1)])
            assert r.get("ok"), r
            src, dst, ctl = (ca, "127.0.0.1:29312", sa)
            g = subprocess.Popen(
                [os.path.join(build, "tests/tools/sclient"), "--allow-sim", "--anchors",
                 os.path.join(env["TALOS_SIM_CA"], "ca.pem"), "--measurement", meas, "--node", tcp,
                 "--ta", ta, "gaps", str(nclients), "4", "put", "k{i}", "v"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            m = subprocess.run([os.path.join(build, "bin/talos"), "--node", os.path.dirname(ctl),
                                "migrate", "--json", ta, "--to", dst, "--precopy"], env=env,
                               capture_output=True, text=True, timeout=120)
            so, se = g.communicate(timeout=120)
            if m.returncode != 0 or g.returncode != 0:
                raise RuntimeError(f"precopy run: {m.stderr} {se}")
            mj = json.loads(m.stdout)
            gj = json.loads(so.strip().splitlines()[-1])
            emit({"bench": "secure-precopy", "state_bytes": mj.get("state_bytes"),
                  "ta_downtime_ms": mj.get("downtime_ms"), **gj})
            Ctl(sb).req(op="stop", id=ta)
    finally:
        stop_nodes(procs, tmp)


if __name__ == "__main__":
    main()
