#!/usr/bin/env python3
"""A writer for the pre-copy tests: overwrites keys w0..w(N-1) with fresh
values in a closed loop through node A, follows a MOVED answer to node B,
and remembers the last value each key was acknowledged with. It stops when
the file STOP exists, then prints JSON: the acknowledged values, how many
writes each node answered, and the longest gap between two answers."""
import json, os, random, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import Ctl  # noqa: E402

a_sock, b_sock, ta, nkeys, stop = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
a, b = Ctl(a_sock), Ctl(b_sock)
rnd = random.Random(7)
acked, on_b, n_a, n_b, gap, prev, errors = {}, False, 0, 0, 0.0, None, []
while not os.path.exists(stop):
    k = "w%d" % rnd.randrange(nkeys)
    v = "%016x" % rnd.getrandbits(64) * 8
    r = (b if on_b else a).req(op="call", id=ta, ecall="put", args=[k, v])
    now = time.monotonic()
    if r.get("ok"):
        acked[k] = v
        if on_b:
            n_b += 1
        else:
            n_a += 1
        if prev is not None:
            gap = max(gap, now - prev)
        prev = now
    elif not on_b and r.get("error") == "MOVED":
        on_b = True
    elif on_b and r.get("error") in ("NO_SUCH_TA", "STATE", "BUSY"):
        time.sleep(0.0005)
    else:
        errors.append(r)
        if len(errors) > 100:
            break
print(json.dumps({"acked": acked, "on_a": n_a, "on_b": n_b, "max_gap_ms": gap * 1e3,
                  "errors": errors[:5]}))
