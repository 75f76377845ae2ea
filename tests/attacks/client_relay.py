#!/usr/bin/env python3
"""An adversary between a client and a talosd node, for the session tests.

    client_relay.py --listen PORT --to HOST:PORT [--mode MODE] [options]
    client_relay.py --daemon --listen ...   # fork, print the relay's pid, return
    client_relay.py --replay FILE --to HOST:PORT   # send a recorded client stream

A client session (docs/sessions.md) is a plaintext preamble (24 bytes from
the client, then the node's answer: u32 n and n bytes) followed by the
client's TLS session with the TA. Offsets below count TLS bytes only, from
the first byte after the preamble (client -> node) or after the answer
(node -> client). Every connection is relayed in its own threads; tampering
applies to the FIRST connection only, so a client that reconnects gets a
clean relay (it must not need one: the tests check what it does).

Modes:
  pass      relay untouched
  flip      XOR 0x01 into the byte at --offset N of direction --dir (c2n|n2c)
  truncate  close both sides once --offset N bytes of --dir were relayed
  hold      relay until the file --hold FILE exists, then keep the node's
            bytes (n2c) back; when --cut FILE exists, close every
            connection (what was held is dropped)
--swap-lineage HEX: every connection's preamble names that lineage instead
(a node that sends the client to another TA).
--record FILE: write the client's bytes of the first connection (preamble
included) to FILE when it ends.
--log FILE: a JSON summary when the relay exits: connections, bytes each
way per connection, whether tampering happened.
SIGTERM: close everything, write the summary and exit.
Bounded: exits after --timeout seconds (default 60) whatever happens.
"""
import argparse, json, os, signal, socket, struct, sys, threading, time

PREAMBLE = 24


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int)
    p.add_argument("--to", required=True)
    p.add_argument("--mode", default="pass", choices=["pass", "flip", "truncate", "hold"])
    p.add_argument("--dir", default="c2n", choices=["c2n", "n2c"])
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--hold")
    p.add_argument("--cut")
    p.add_argument("--record")
    p.add_argument("--swap-lineage", help="32 hex: the preamble names this lineage instead")
    p.add_argument("--replay")
    p.add_argument("--log")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--daemon", action="store_true")
    return p.parse_args()


def connect(to):
    host, port = to.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


class Conn:
    def __init__(self, n, cli, node, a):
        self.n, self.cli, self.node, self.a = n, cli, node, a
        self.first = n == 0
        self.bytes = {"c2n": 0, "n2c": 0}
        self.tampered = False
        self.rec = bytearray()
        self.closed = threading.Event()

    def close(self):
        self.closed.set()
        for s in (self.cli, self.node):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pump(self, d, src, dst):
        a = self.a
        head = PREAMBLE if d == "c2n" else None  # n2c: 4 + n, learnt from the stream
        seen = 0  # plaintext bytes of this direction before the TLS part
        buf = bytearray()
        tls = 0  # TLS bytes relayed so far
        held = bytearray()
        try:
            while not self.closed.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if d == "c2n" and self.first:
                    self.rec += data
                data = bytearray(data)
                # Split off the plaintext head.
                if head is None or seen < head:
                    buf += data
                    if head is None and len(buf) >= 4:
                        head = 4 + struct.unpack(">I", bytes(buf[:4]))[0]
                    if head is None or len(buf) < head:
                        seen = len(buf)
                        continue
                    pre, data = buf[:head], buf[head:]
                    if d == "c2n" and a.swap_lineage:
                        pre[8:24] = bytes.fromhex(a.swap_lineage)
                        self.tampered = True
                    seen = head
                    dst.sendall(bytes(pre))
                    buf = bytearray()
                if self.first and a.mode in ("flip", "truncate") and d == a.dir:
                    if a.mode == "flip" and tls <= a.offset < tls + len(data):
                        data[a.offset - tls] ^= 0x01
                        self.tampered = True
                    if a.mode == "truncate" and tls + len(data) >= a.offset:
                        dst.sendall(bytes(data[: a.offset - tls]))
                        self.bytes[d] += a.offset - tls
                        self.tampered = True
                        self.close()
                        return
                tls += len(data)
                self.bytes[d] += len(data)
                if a.mode == "hold" and d == "n2c" and a.hold and os.path.exists(a.hold):
                    held += data
                    self.tampered = True
                    continue
                dst.sendall(bytes(data))
        except OSError:
            pass
        # One direction ended: end the other (a half-open relay would hang).
        self.close()


def listener(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen))
    ls.listen(64)
    ls.settimeout(0.2)
    return ls


def serve(a, ls):
    conns, threads = [], []
    deadline = time.time() + a.timeout

    def summary():
        out = {"connections": len(conns),
               "bytes": [c.bytes for c in conns],
               "tampered": any(c.tampered for c in conns)}
        if a.record and conns:
            with open(a.record, "wb") as f:
                f.write(bytes(conns[0].rec))
        if a.log:
            try:  # the test's dir may be going away already
                tmp = a.log + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(out, f)
                os.rename(tmp, a.log)
            except OSError:
                pass

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))  # the test is done: summarize
    while time.time() < deadline and not stop:
        if a.mode == "hold" and a.cut and os.path.exists(a.cut):
            for c in conns:
                c.close()
            a.cut = None  # once; later connections pass
            a.hold = None
        try:
            cli, _ = ls.accept()
        except socket.timeout:
            continue
        try:
            node = connect(a.to)
        except OSError:
            cli.close()
            continue
        for s in (cli, node):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(None)
        c = Conn(len(conns), cli, node, a)
        conns.append(c)
        for d, src, dst in (("c2n", cli, node), ("n2c", node, cli)):
            t = threading.Thread(target=c.pump, args=(d, src, dst), daemon=True)
            t.start()
            threads.append(t)
        if a.record and c.first:
            # Write the record as soon as the first connection ends.
            def rec_when_done(c=c):
                c.closed.wait()
                time.sleep(0.1)
                with open(a.record, "wb") as f:
                    f.write(bytes(c.rec))
            threading.Thread(target=rec_when_done, daemon=True).start()
    for c in conns:
        c.close()
    summary()


def replay(a):
    """Send a recorded client stream as it was; report what came back."""
    data = open(a.replay, "rb").read()
    s = connect(a.to)
    s.settimeout(10)
    got = bytearray()
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    ans_len = struct.unpack(">I", bytes(got[:4]))[0] if len(got) >= 4 else 0
    status = struct.unpack(">i", bytes(got[4:8]))[0] if len(got) >= 8 else None
    out = {"sent": len(data), "received": len(got), "answer_status": status,
           "tls_bytes_back": max(0, len(got) - 4 - ans_len)}
    print(json.dumps(out))


def main():
    a = parse()
    if a.replay:
        replay(a)
        return
    ls = listener(a)  # before the fork: the caller may connect at once
    if a.daemon:
        pid = os.fork()
        if pid:
            print(pid)
            return
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    serve(a, ls)


if __name__ == "__main__":
    main()
