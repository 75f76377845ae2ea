#!/usr/bin/env python3
"""Speak the RESEND request of node/talosd/peerproto.h, for the handover tests.

    peer_resend.py send HOST:PORT LINEAGE SESSION TOKEN_HEX
        one RESEND request, as an attacker (or the test) would send it to a
        target node's peer port; prints the VERDICT as JSON:
        {"status": int, "kind": int, "token": hex, "message": str}
    peer_resend.py serve PORT --kind K --token HEX [--for S]
        a lying "target node": listens on 127.0.0.1:PORT, answers every RESEND
        with status 0, kind K and the given token (a replayed RECEIPT, say);
        forks, prints its pid, serves for S seconds (default 30)

Both ends speak as nodes: on TLS 1.3 with a node certificate of the node
CA in $TALOS_NODE_CA (proxy.node_tls), as a node daemon an attacker owns
would. Wire: u32 BE length-prefixed messages.
    RESEND  "TALOSH1\\0" ‖ lineage[16] ‖ session[16] ‖ u32 len ‖ token
    VERDICT i32 status ‖ u8 kind ‖ u32 len ‖ token ‖ u32 len ‖ message
"""
import json, os, socket, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import types  # noqa: E402
from proxy import daemonize, listener, node_tls, recv_exact  # noqa: E402

NODE = types.SimpleNamespace(node_ca=None, tmpdir="/tmp")

MAGIC = b"TALOSH1\0"


def read_msg(s):
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    return recv_exact(s, n)


def send_msg(s, body):
    s.sendall(struct.pack(">I", len(body)) + body)


def send(hostport, lineage, session, token):
    host, port = hostport.rsplit(":", 1)
    s = node_tls(NODE).wrap_socket(socket.create_connection((host, int(port)), timeout=70))
    tok = bytes.fromhex(token)
    send_msg(s, MAGIC + bytes.fromhex(lineage) + bytes.fromhex(session) + struct.pack(">I", len(tok)) + tok)
    b = read_msg(s)
    status, kind = struct.unpack(">iB", b[:5])
    (tl,) = struct.unpack(">I", b[5:9])
    t = b[9:9 + tl]
    (ml,) = struct.unpack(">I", b[9 + tl:13 + tl])
    msg = b[13 + tl:13 + tl + ml].decode(errors="replace")
    print(json.dumps({"status": status, "kind": kind, "token": t.hex(), "message": msg}))


def serve(port, kind, token, seconds):
    ls = listener(port, backlog=8)
    ctx = node_tls(NODE, server=True)
    if daemonize():
        return
    end = time.time() + seconds
    tok = bytes.fromhex(token)
    while time.time() < end:
        ls.settimeout(max(0.1, end - time.time()))
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        try:
            c.settimeout(5)
            c = ctx.wrap_socket(c, server_side=True)
            req = read_msg(c)
            if req.startswith(MAGIC):
                msg = b"replayed"
                send_msg(c, struct.pack(">iB", 0, kind) + struct.pack(">I", len(tok)) + tok +
                         struct.pack(">I", len(msg)) + msg)
        except (OSError, EOFError):
            pass
        c.close()
    os._exit(0)


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "send":
        return send(*a[1:])
    if len(a) >= 6 and a[0] == "serve" and a[2] == "--kind" and a[4] == "--token":
        secs = float(a[7]) if len(a) == 8 and a[6] == "--for" else 30.0
        return serve(int(a[1]), int(a[3]), a[5], secs)
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
