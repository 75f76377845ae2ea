#!/usr/bin/env python3
"""Client load for the demo: random ledger transfers against a node's
control socket until a stop file appears. When the TA moves (MOVED), the
client follows it to the other node. Prints a JSON summary: transfers that
succeeded, refusals, the versions it saw (they must never decrease), and
the gap between the last reply from the source and the first from the
target, as the client saw it."""
import json, os, random, socket, struct, sys, time


class Node:
    def __init__(self, sock_path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(sock_path)

    def call(self, ta, ecall, *args):
        body = json.dumps({"op": "call", "id": ta, "ecall": ecall, "args": list(args)}).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)
        n = struct.unpack(">I", self._read(4))[0]
        return json.loads(self._read(n))

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError("node closed the connection")
            b += c
        return b


def main():
    ta, sock_a, sock_b, stop, accounts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    rnd = random.Random(42)
    nodes = [Node(sock_a), Node(sock_b)]
    cur, ok, refused, moved_at, last_v = 0, 0, 0, None, -1
    last_src = first_dst = None
    decreasing = 0
    while not os.path.exists(stop):
        a, b = rnd.sample(accounts, 2)
        r = nodes[cur].call(ta, "transfer", a, b, str(rnd.randint(1, 300)))
        now = time.monotonic()
        if not r["ok"] and r["error"] == "MOVED":
            if cur == 1:
                raise SystemExit("the TA moved away from the target too")
            cur, moved_at = 1, now
            continue
        if r["ok"]:
            ok += 1
        elif r["error"] == "TA_REFUSED":
            refused += 1
        else:
            raise SystemExit(f"unexpected answer: {r}")
        v = r.get("version", -1)
        decreasing += v < last_v
        last_v = v
        if cur == 0:
            last_src = now
        elif first_dst is None:
            first_dst = now
    gap = (first_dst - last_src) * 1000 if first_dst and last_src else None
    print(json.dumps({"transfers_ok": ok, "refused": refused, "moved": moved_at is not None,
                      "last_version": last_v, "version_decreases": decreasing,
                      "client_gap_ms": gap}))


if __name__ == "__main__":
    main()
