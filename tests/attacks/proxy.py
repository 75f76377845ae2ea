#!/usr/bin/env python3
"""An adversary on the wire between two talosd nodes, for the attack tests.

    proxy.py --listen PORT --to HOST:PORT --mode MODE [options]   # on the wire
    proxy.py --daemon --listen ...  # listen, fork, print the proxy's pid, return
    proxy.py --mode replay --replay FILE --to HOST:PORT            # as a source
    proxy.py --mode fake-source --to HOST:PORT --lineage ID --image TA --evidence HEXFILE
    proxy.py --show FILE                                           # print a capture

It listens on 127.0.0.1:PORT and relays a migration between two talosd
nodes (node/talosd/peerproto.h). A migration is two connections: the
nodes' authenticated link (TLS 1.3, both nodes certified by the node CA),
which the proxy relays untouched in the background since it cannot read
it, and then the data connection: a 40-byte DATA hello ("TALOSD2\0" and
the one-time ticket the target node gave on the link), then the TAs' own
TLS channel. Everything below works on the data connection. The proxy
exits when both directions of the data connection are done (or the link
ended without one), or after --timeout seconds (default 30) whatever
happens. Every run is bounded.

The source -> target direction of the data connection is split into TLS
records after the hello (5-byte header: type, version, u16 length); record
1 is the ClientHello. `--skip N` overrides the hello's length.

Where the adversary acts as a node itself (replay, fake-source, the second
target of mirror), it holds a node certificate of the node CA
(--node-ca DIR, default $TALOS_NODE_CA: the threat model's attacker owns
node daemons), made with the openssl CLI; `--node-ca none` presents no
certificate, `--node-ca other` one of a CA of its own.

Modes (all tampering is on the source -> target direction):
  pass      relay (with --capture FILE: both directions to FILE)
  record    = pass, --record FILE is the capture
  flip      flip bit --bit B (default 0) of one byte, chosen by one of
              --link-offset N offset in the first node link (source ->
                              target): the nodes' own TLS
              --offset N      absolute offset from the data connection's
                              start (N < 40 lands inside the DATA hello);
                              with --xor HEX, XOR several bytes from there on
              --tls-offset N  offset from the first TLS byte
              --nth K --at OFF  byte OFF of TLS record K (OFF counts from the
                              record's 5-byte header; negative: from its end,
                              -1 is the last byte of the AEAD tag)
  drop      do not forward TLS record --nth K
  dup       forward TLS record --nth K twice
  reorder   hold TLS record --nth K and send it right after record --nth2
              (default K+1): records K and K+1 swap
  truncate  forward TLS records 1..K (--nth K), then close the target's
              receiving direction (FIN) and forward nothing more
  mirror    also send every source TLS byte to --mirror HOST:PORT, as a
              node of its own that OFFERed --lineage with --image there and
              got its own ticket; only the --to target's bytes go back
  replay    no listener: act as a source node towards --to. OFFERs
              --lineage with --image on a link of its own, then replays the
              recorded TLS bytes of the recording --replay FILE on the data
              connection its ticket admits, in their recorded segments,
              each after the target has sent at least as many bytes as it
              had at that point of the recording (or 2 s passed)
  offer     no listener: as a node, OFFER --lineage with --image to --to
              and stop after the answers (log: answers, refused)
  fake-source  no listener: speak the preamble for --lineage with --image
              (--hint N: the HELLO's size hint; --stall S: after HELLO,
              trickle a byte every 2 s for S seconds instead, a squatter),
              open a TLS 1.3 channel of our own (fresh self-signed Ed25519
              certificate, like a TA's) to the virgin target, send HELLO and
              then EVIDENCE with the evidence in --evidence (hex), and log
              the target's answers (an ABORT's code is decoded)
  relabel   a node in the middle of the link (it holds a node certificate):
              XOR --xor HEX into the OFFER's lineage, then splice the
              data connection onto the target with the target's ticket
  mitm      relay the preamble, then terminate TLS towards both the source
              and the target with our own key, and relay the migration
              records HELLO, HELLO_ACK, both EVIDENCE and the target's
              verdict in plaintext; then close both

When the target closes, the proxy passes on what it sent (a TLS alert, say),
half-closes towards the source, and swallows whatever the source still
writes until the source closes: the source then always reads the target's
last words instead of racing a reset, so the error it reports is
deterministic.

--then-pass D  after the one connection is done, refuse connections (nothing
              listens) for D seconds, then relay every further connection
              untouched, until --then-pass-for S (default 30) seconds end:
              the source node's resent HANDOFF (docs/migration.md "Resend")
              reaches the target through the same address.

--timeout S bounds every mode. --log FILE writes a JSON summary: preamble length, need_image, the TLS
records seen (index, type, length), the action taken, bytes each way, who
closed first. Capture format: b"TALOSCAP1\\n", then entries
dir(1: '>' source->target, '<' target->source, '{' mirror->nowhere) ‖
u32 BE length ‖ bytes; read_capture() parses it.

One file over 400 lines: one adversary, whose modes share its relay, its
record framing and its capture format.
"""
import argparse, json, os, select, socket, struct, sys, time

MAGIC = b"TALOSCAP1\n"
DATA_HELLO_LEN = 8 + 32
TLS_HANDSHAKE = 0x16


def read_capture(path):
    """-> (segments [(dir, bytes)], source->target bytes, target->source bytes)"""
    segs, s2t, t2s = [], bytearray(), bytearray()
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        raise ValueError("not a capture: " + path)
    off = len(MAGIC)
    while off < len(data):
        d = chr(data[off])
        (n,) = struct.unpack(">I", data[off + 1:off + 5])
        b = data[off + 5:off + 5 + n]
        off += 5 + n
        segs.append((d, b))
        if d == ">":
            s2t += b
        elif d == "<":
            t2s += b
    return segs, bytes(s2t), bytes(t2s)


def parse_msgs(buf, count):
    """The first `count` u32-prefixed messages of buf -> (list, bytes used) or None."""
    out, off = [], 0
    for _ in range(count):
        if len(buf) < off + 4:
            return None
        (n,) = struct.unpack(">I", buf[off:off + 4])
        if len(buf) < off + 4 + n:
            return None
        out.append(buf[off + 4:off + 4 + n])
        off += 4 + n
    return out, off


def answer_fields(body):
    """An ANSWER body -> (status, need_image, message)."""
    return answer_full(body)[:3]


def answer_full(body):
    """An ANSWER body -> (status, need_image, message, ticket)."""
    status, need = struct.unpack(">iB", body[:5])
    (ml,) = struct.unpack(">I", body[5:9])
    msg = body[9:9 + ml].decode(errors="replace")
    (tl,) = struct.unpack(">I", body[9 + ml:13 + ml])
    return status, need, msg, body[13 + ml:13 + ml + tl]


def tls_records(buf):
    """Split bytes into TLS records -> list of (offset, type, length-with-header); a tail is ignored."""
    out, off = [], 0
    while len(buf) - off >= 5:
        n = 5 + struct.unpack(">H", buf[off + 3:off + 5])[0]
        if len(buf) - off < n:
            break
        out.append((off, buf[off], n))
        off += n
    return out


class Capture:
    def __init__(self, path):
        self.f = open(path, "wb") if path else None
        if self.f:
            self.f.write(MAGIC)

    def add(self, d, b):
        if self.f and b:
            self.f.write(d.encode() + struct.pack(">I", len(b)) + b)

    def close(self):
        if self.f:
            self.f.close()


class S2T:
    """The source -> target direction: finds the preamble's end, splits the
    rest into TLS records, applies the mode. feed() -> bytes to forward."""

    def __init__(self, a):
        self.a = a
        self.skip = a.skip if a.skip is not None else DATA_HELLO_LEN
        self.pos = 0                # bytes of the direction seen so far
        self.buf = bytearray()      # TLS bytes not yet a whole record
        self.nrec = 0
        self.records = []
        self.held = None
        self.closed_target = False  # truncate: nothing more goes out
        self.action = None

    def feed(self, data):
        data = bytearray(data)
        if self.a.mode == "flip" and self.a.offset is not None:
            mask = bytes.fromhex(self.a.xor) if self.a.xor else bytes([1 << self.a.bit])
            for k, m in enumerate(mask):
                i = self.a.offset + k - self.pos
                if 0 <= i < len(data):
                    data[i] ^= m
                    self.action = "xored %s into bytes from %d (absolute)" % (mask.hex(), self.a.offset)
        start = self.pos
        self.pos += len(data)
        out, i = bytearray(), 0
        while i < len(data):
            p = start + i
            if p < self.skip:
                n = min(len(data) - i, self.skip - p)
                out += data[i:i + n]
                i += n
                continue
            out += self.tls(data[i:], p - self.skip)
            break
        return bytes(out)

    def tls(self, tls, tls_pos):
        """TLS bytes starting at offset tls_pos of the TLS part -> bytes to forward."""
        out = bytearray()
        if self.a.mode == "flip" and self.a.tls_offset is not None:
            i = self.a.tls_offset - tls_pos
            if 0 <= i < len(tls):
                tls[i] ^= 1 << self.a.bit
                self.action = "flipped bit %d of TLS byte %d" % (self.a.bit, self.a.tls_offset)
        self.buf += tls
        consumed = 0
        for off, typ, n in tls_records(self.buf):
            rec = bytearray(self.buf[off:off + n])
            consumed = off + n
            self.nrec += 1
            self.records.append([self.nrec, typ, n])
            out += self.on_record(self.nrec, rec)
        del self.buf[:consumed]
        return out

    def on_record(self, k, rec):
        a = self.a
        if self.closed_target:
            return b""
        if a.nth != k:
            if a.mode == "reorder" and self.held is not None and k == (a.nth2 or a.nth + 1):
                held, self.held = self.held, None
                self.action = "sent record %d after record %d" % (a.nth, k)
                return bytes(rec) + held
            if a.mode == "truncate" and k > a.nth:
                self.closed_target = True
                self.action = "closed the stream after record %d" % a.nth
                return b""
            return bytes(rec)
        if a.mode == "flip" and a.at is not None:
            i = a.at if a.at >= 0 else len(rec) + a.at
            rec[i] ^= 1 << a.bit
            self.action = "flipped bit %d of byte %d of record %d (type %d, %d bytes)" % (
                a.bit, i, k, rec[0], len(rec))
        elif a.mode == "drop":
            self.action = "dropped record %d (%d bytes)" % (k, len(rec))
            return b""
        elif a.mode == "dup":
            self.action = "duplicated record %d (%d bytes)" % (k, len(rec))
            return bytes(rec) * 2
        elif a.mode == "reorder":
            self.held = bytes(rec)
            return b""
        elif a.mode == "truncate":
            self.closed_target = True
            self.action = "closed the stream after record %d" % k
        return bytes(rec)


def connect(hostport, timeout):
    host, port = hostport.rsplit(":", 1)
    deadline = time.time() + timeout
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=5)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


DEADLINE = [None]


def send_all(sock, b):
    """-> False if the peer is gone (or stalls past the deadline)."""
    try:
        sock.settimeout(max(0.1, DEADLINE[0] - time.time()))
        sock.sendall(b)
        return True
    except OSError:
        return False


def listener(port, backlog=1):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(backlog)
    return ls


def daemonize():
    """Fork: the parent prints the child's pid and gets True; the child,
    detached from the caller's session and output, gets False."""
    pid = os.fork()
    if pid:
        print(pid)
        return True
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for i in (0, 1, 2):
        os.dup2(fd, i)
    return False


def pump(x, y, done=None, flip=None):
    """Copy x -> y until x ends, then half-close y (a thread's body).
    flip (offset, bit): flip that bit of that byte of the stream."""
    pos = 0
    try:
        while True:
            d = x.recv(1 << 16)
            if not d:
                break
            if flip and pos <= flip[0] < pos + len(d):
                d = bytearray(d)
                d[flip[0] - pos] ^= 1 << flip[1]
                d = bytes(d)
            pos += len(d)
            y.sendall(d)
    except OSError:
        pass
    try:
        y.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    if done is not None:
        done.set()


def accept_data(a, ls, deadline, log):
    """Accept connections until the data connection comes: node links
    (TLS, first byte 0x16) are relayed untouched in the background. None
    when there is none: the links all ended without one (a refusal in the
    preamble) or the deadline passed."""
    import threading
    links = []
    log["links"] = 0
    while time.time() < deadline:
        ls.settimeout(0.2)
        try:
            c, _ = ls.accept()
        except socket.timeout:
            if links and all(e.is_set() for e in links):
                if time.time() - max(e.when for e in links) > 1.0:
                    return None
            continue
        c.settimeout(5)
        try:
            first = c.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        c.settimeout(None)
        if first and first[0] == TLS_HANDSHAKE:
            d = connect(a.to, 5)
            log["links"] += 1
            ev = threading.Event()
            ev.when = time.time()
            ended = [threading.Event(), threading.Event()]

            def watch(ev=ev, ended=ended):
                for e in ended:
                    e.wait()
                ev.when = time.time()
                ev.set()
            flip = (a.link_offset, a.bit) if a.link_offset is not None and log["links"] == 1 else None
            for (x, y), e, f in zip(((c, d), (d, c)), ended, (flip, None)):
                threading.Thread(target=pump, args=(x, y, e, f), daemon=True).start()
            threading.Thread(target=watch, daemon=True).start()
            links.append(ev)
            continue
        return c
    return None


def relay(a, ls, log):
    deadline = DEADLINE[0] = time.time() + a.timeout
    src = accept_data(a, ls, deadline, log)
    if src is None:
        log["error"] = "no data connection"
        return
    ls.close()
    dst = connect(a.to, 5)
    mir = None
    if a.mode == "mirror":
        # The second target is the adversary's own migration: a link, an
        # OFFER and a ticket of its own; then the same TLS bytes.
        ticket, link = node_offer(a, a.mirror, log, "mirror_answers")
        if ticket is None:
            log["error"] = "the mirror target refused the adversary's OFFER"
            return
        mir = connect(a.mirror, 5)
        mir.sendall(b"TALOSD2\0" + ticket)
        log["mirror_link"] = link is not None
    for s in (src, dst, mir):
        if s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cap = Capture(a.capture or a.record)
    s2t = S2T(a)
    open_ = {src: True, dst: True}
    if mir:
        open_[mir] = True
    dst_writable, mir_writable = True, mir is not None
    counts = {"s2t": 0, "t2s": 0, "mirror_in": 0}
    order = []
    while any(open_.values()) and time.time() < deadline:
        socks = [s for s, o in open_.items() if o]
        r, _, _ = select.select(socks, [], [], max(0.0, min(1.0, deadline - time.time())))
        for s in r:
            try:
                data = s.recv(1 << 16)
            except OSError:
                data = b""
            if s is src:
                if not data:
                    open_[src] = False
                    order.append("source")
                    if dst_writable:
                        if s2t.held is not None:
                            send_all(dst, s2t.held)  # a held record still goes
                        try:
                            dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    if mir_writable:
                        try:
                            mir.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    continue
                counts["s2t"] += len(data)
                cap.add(">", data)
                # The mirror got its own hello: the TLS bytes only.
                tail = data[max(0, DATA_HELLO_LEN - (counts["s2t"] - len(data))):]
                if mir_writable and tail and not send_all(mir, tail):
                    mir_writable = False
                out = s2t.feed(data)
                if dst_writable and out and not send_all(dst, out):
                    dst_writable = False
                if dst_writable and s2t.closed_target:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    dst_writable = False
            elif s is dst:
                if not data:
                    open_[dst] = False
                    order.append("target")
                    dst_writable = False
                    # Let the source read what the target said last, then EOF;
                    # keep swallowing what the source still sends.
                    try:
                        src.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                counts["t2s"] += len(data)
                cap.add("<", data)
                send_all(src, data)
            else:
                if not data:
                    open_[mir] = False
                    order.append("mirror")
                    mir_writable = False
                    continue
                counts["mirror_in"] += len(data)
                cap.add("{", data)
    if time.time() >= deadline:
        log["timed_out"] = True
    cap.close()
    log.update(counts)
    log.update(preamble=s2t.skip, tls_records=s2t.nrec,
               records=s2t.records[:400], action=s2t.action, closed=order)
    for s in (src, dst, mir):
        if s:
            s.close()


def node_tls(a, server=False):
    """A TLS 1.3 context for acting as a node (client, or server): a node
    certificate issued by --node-ca (default $TALOS_NODE_CA), 'other' for
    one of a CA of the adversary's own, 'none' for no certificate at all."""
    import ssl, subprocess, tempfile
    ca = getattr(a, "node_ca", None) or os.environ.get("TALOS_NODE_CA", "none")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # who the target is does not matter to the adversary
    if ca == "none":
        return ctx
    d = tempfile.mkdtemp(prefix="adv-node.", dir=getattr(a, "tmpdir", "/tmp"))
    run = lambda *c: subprocess.run(list(c), check=True, capture_output=True)
    if ca == "other":
        ca = d
        run("openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", d + "/ca.key",
            "-out", d + "/ca.pem", "-subj", "/CN=adversary CA", "-days", "1",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    with open(d + "/ext", "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    run("openssl", "genpkey", "-algorithm", "ed25519", "-out", d + "/node.key")
    run("openssl", "req", "-new", "-key", d + "/node.key", "-subj", "/CN=adversary node",
        "-out", d + "/node.csr")
    run("openssl", "x509", "-req", "-in", d + "/node.csr", "-CA", ca + "/ca.pem", "-CAkey",
        ca + "/ca.key", "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "1",
        "-extfile", d + "/ext", "-out", d + "/node.pem")
    ctx.load_cert_chain(d + "/node.pem", d + "/node.key")
    return ctx


def node_offer(a, to, log, key="answers"):
    """As a node: OFFER --lineage with --image on a link to `to`.
    -> (ticket, link) once the target is ready, else (None, link or None);
    what was answered goes to log[key] (log["refused"] says why not)."""
    import hashlib
    lineage = bytes.fromhex(a.lineage)
    image = open(a.image, "rb").read()
    sha = hashlib.sha256(image).digest()
    if getattr(a, "corrupt_image", False):  # announce the genuine hash, send other bytes
        image = image[:1000] + bytes([image[1000] ^ 1]) + image[1001:]
    try:
        tls = node_tls(a).wrap_socket(connect(to, 5))
        tls.settimeout(10)
        offer = b"TALOSP2\0" + lineage + sha + struct.pack(">QBI", len(image), 0, 0)  # no signature
        tls.sendall(struct.pack(">I", len(offer)) + offer)
        answers = [answer_full(recv_peer_msg(tls)[1])]
        if answers[-1][0] == 0 and answers[-1][1]:
            tls.sendall(image)
            answers.append(answer_full(recv_peer_msg(tls)[1]))
        if answers[-1][0] == 0:
            answers.append(answer_full(recv_peer_msg(tls)[1]))
    except (OSError, EOFError) as e:  # ssl.SSLError is an OSError
        log["refused"] = "link: %s: %s" % (type(e).__name__, e)
        return None, None
    log[key] = [list(x[:3]) for x in answers]
    if answers[-1][0] != 0 or "target ready" not in answers[-1][2] or len(answers[-1][3]) != 32:
        log["refused"] = "preamble"
        return None, tls
    return answers[-1][3], tls


def replay(a, log):
    segs, rec_s2t, rec_t2s = read_capture(a.replay)
    deadline = time.time() + a.timeout
    # The recording is a data connection: its hello (with a spent ticket),
    # then TLS. Our own OFFER gets a fresh ticket for the replay.
    rec_pre_s2t, rec_pre_t2s = DATA_HELLO_LEN, 0
    plan, s_off, t_off = [], 0, 0
    for d, b in segs:
        if d == ">":
            lo, hi = s_off, s_off + len(b)
            if hi > rec_pre_s2t:
                plan.append((max(0, t_off - rec_pre_t2s), b[max(0, rec_pre_s2t - lo):]))
            s_off = hi
        elif d == "<":
            t_off += len(b)
    ticket, link = node_offer(a, a.to, log)
    if ticket is None:
        return
    log["target_ready"] = True
    sock = connect(a.to, 5)
    sock.settimeout(max(1.0, deadline - time.time()))
    cap = Capture(a.capture)
    hello = b"TALOSD2\0" + ticket
    cap.add(">", hello)
    sock.sendall(hello)
    link.close()
    # The TLS part: as recorded, in order, paced by the target's answers.
    got, closed, sent = 0, False, 0

    def pull(wait):
        # One read of the target's answer, if any comes within `wait` s:
        # the bytes read (captured), or None when the target closed.
        r, _, _ = select.select([sock], [], [], wait)
        if not r:
            return 0
        try:
            c = sock.recv(1 << 16)
        except OSError:
            c = b""
        if not c:
            return None
        cap.add("<", c)
        return len(c)

    sock.setblocking(False)
    for want, b in plan:
        t_wait = time.time() + 2
        while got < want and not closed and time.time() < min(t_wait, deadline):
            n = pull(0.1)
            closed = n is None
            got += n or 0
        if closed:
            break
        try:
            sock.setblocking(True)
            sock.sendall(b)
            sent += len(b)
            sock.setblocking(False)
        except OSError:
            closed = True
            break
    # Then listen until the target closes (bounded).
    sock.setblocking(False)
    while not closed and time.time() < deadline:
        n = pull(0.2)
        closed = n is None
        got += n or 0
    cap.close()
    log.update(tls_sent=sent, tls_planned=sum(len(b) for _, b in plan), tls_received=got,
               target_closed=closed)
    sock.close()


def recv_exact(sock, n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise EOFError("peer closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def recv_peer_msg(sock):
    """One u32-prefixed preamble message -> (raw bytes with prefix, body)."""
    hdr = recv_exact(sock, 4)
    body = recv_exact(sock, struct.unpack(">I", hdr)[0])
    return hdr + body, body


MIG_VERSION = 2  # include/talos/abi.h TALOS_MIG_VERSION
MIG_NAMES = {1: "HELLO", 2: "HELLO_ACK", 3: "EVIDENCE", 4: "BEGIN", 5: "CHUNK", 6: "MANIFEST",
             7: "PREPARED", 8: "HANDOFF", 9: "RECEIPT", 10: "ABORT"}
TOKEN_CODE_OFF = 1 + 16 + 16 + 8 + 32  # kind, session, lineage, version, head, then i32 code


def send_mig(tls, typ, body):
    tls.sendall(struct.pack(">IB", len(body), typ) + body)


def recv_mig(tls):
    """A migration record inside TLS (u32 length, u8 type, body) -> (type, body)."""
    n, typ = struct.unpack(">IB", recv_exact(tls, 5))
    if n > (1 << 20):
        raise ValueError("record of %d bytes" % n)
    return typ, recv_exact(tls, n)


def describe(typ, body):
    d = {"type": MIG_NAMES.get(typ, typ), "length": len(body)}
    if typ == 10 and len(body) >= TOKEN_CODE_OFF + 4:
        d["code"] = struct.unpack(">i", body[TOKEN_CODE_OFF:TOKEN_CODE_OFF + 4])[0]
    return d


def tls_context(server, tmpdir):
    """TLS 1.3 only, with a fresh self-signed Ed25519 certificate (like a TA's)."""
    import ssl, subprocess, tempfile
    # A folder of this process's own: several adversaries may run at once.
    d = tempfile.mkdtemp(prefix="adv-ta.", dir=tmpdir)
    key, cert = os.path.join(d, "adv-key.pem"), os.path.join(d, "adv-cert.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", key,
                        "-out", cert, "-subj", "/CN=adversary", "-days", "1"],
                       check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE if not server else ssl.CERT_OPTIONAL
    if server:
        ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    return ctx


def fake_source(a, log):
    """Speak the preamble for --lineage with --image, open our own TLS
    channel to the virgin target, send HELLO, then EVIDENCE taken from
    --evidence (hex: genuine evidence of another session), and report what
    the target answers."""
    deadline = time.time() + a.timeout
    lineage = bytes.fromhex(a.lineage)
    ticket, link = node_offer(a, a.to, log)
    if ticket is None:
        return
    log["target_ready"] = True
    sock = connect(a.to, 5)
    sock.settimeout(max(1.0, deadline - time.time()))
    sock.sendall(b"TALOSD2\0" + ticket)
    link.close()
    tls = tls_context(False, a.tmpdir).wrap_socket(sock)
    log["tls"] = tls.version()
    # HELLO: version 2 ‖ session ‖ nonce ‖ lineage ‖ u64 arena size hint (0: no pre-faulting)
    send_mig(tls, 1, bytes([MIG_VERSION]) + os.urandom(16) + os.urandom(32) + lineage + struct.pack(">Q", a.hint))
    log["replies"] = [describe(*recv_mig(tls))]
    if a.stall:
        # A squatter: trickle the bytes of one TLS record, one every 2 s,
        # under the TLS layer, for --stall seconds (or until cut).
        log["stalled"] = 0
        fd = tls.fileno()
        rec = bytes([23, 3, 3, 0x40, 0]) + os.urandom(16384)
        end = time.time() + a.stall
        try:
            for b in rec:
                if time.time() > end:
                    break
                os.write(fd, bytes([b]))
                log["stalled"] += 1
                time.sleep(2)
        except OSError as e:
            log["cut"] = str(e)
        log["stall_ended"] = time.time()
        return
    ev = bytes.fromhex(open(a.evidence).read().strip())
    # EVIDENCE: u32 n ‖ evidence ‖ binding MAC. Python's ssl cannot export
    # keying material, so the MAC is zeros: the target checks the evidence
    # (chain, policy, report data) before the MAC, and refuses there.
    send_mig(tls, 3, struct.pack(">I", len(ev)) + ev + bytes(32))
    log["evidence_sent"] = len(ev)
    # The target sends its own EVIDENCE at once, then its verdict on ours.
    for _ in range(3):
        try:
            log["replies"].append(describe(*recv_mig(tls)))
        except (EOFError, OSError) as e:
            log["replies"].append({"closed": str(e)})
            break
        if log["replies"][-1]["type"] == "ABORT":
            break
    tls.close()


def mitm(a, ls, log):
    """Relay the preamble, then terminate TLS on both sides with our own
    key and splice the TAs' records: each TA's evidence reaches the other
    over a channel it was not made for. Stops after the target's verdict
    (passed on to the source if it still listens)."""
    deadline = time.time() + a.timeout
    src = accept_data(a, ls, deadline, log)
    if src is None:
        log["error"] = "no data connection"
        return
    ls.close()
    dst = connect(a.to, 5)
    for s in (src, dst):
        s.settimeout(max(1.0, deadline - time.time()))
    dst.sendall(recv_exact(src, DATA_HELLO_LEN))  # the genuine ticket admits us
    log["preamble_end"] = "data connection"
    s_tls = tls_context(True, a.tmpdir).wrap_socket(src, server_side=True)
    t_tls = tls_context(False, a.tmpdir).wrap_socket(dst)
    log["relayed"] = []
    # HELLO, HELLO_ACK; then both send EVIDENCE at once; then the target's
    # verdict on the source's evidence (the source gives none: it hangs up).
    for frm, to in ((s_tls, t_tls), (t_tls, s_tls), (s_tls, t_tls), (t_tls, s_tls), (t_tls, s_tls)):
        try:
            typ, body = recv_mig(frm)
        except (EOFError, OSError) as e:
            log["relayed"].append({"closed": "target" if frm is t_tls else "source", "why": str(e)})
            break
        d = describe(typ, body)
        d["from"] = "source" if frm is s_tls else "target"
        log["relayed"].append(d)
        try:
            send_mig(to, typ, body)
        except OSError as e:
            d["undelivered"] = str(e)
        if typ == 10:
            break
    for s in (s_tls, t_tls):
        try:
            s.close()
        except OSError:
            pass


def relabel(a, ls, log):
    """A node in the middle: terminate the source node's link with a node
    certificate of our own, XOR --xor into the OFFER's lineage, make the
    target node our own link's OFFER, hand the source a ticket of ours, and
    splice its data connection onto the target with the target's ticket."""
    import threading
    deadline = time.time() + a.timeout
    ls.settimeout(a.timeout)
    src, _ = ls.accept()
    s_tls = node_tls(a, server=True).wrap_socket(src, server_side=True)
    t_tls = node_tls(a).wrap_socket(connect(a.to, 5))
    for s_ in (s_tls, t_tls):
        s_.settimeout(max(1.0, deadline - time.time()))
    _, body = recv_peer_msg(s_tls)
    body = bytearray(body)
    mask = bytes.fromhex(a.xor or "01")
    for k, m in enumerate(mask):
        body[8 + k] ^= m  # the lineage follows the 8-byte magic
    log["lineage_sent"] = bytes(body[8:24]).hex()
    t_tls.sendall(struct.pack(">I", len(body)) + body)
    size = struct.unpack(">Q", bytes(body[56:64]))[0]
    real = None
    while True:
        _, ans = recv_peer_msg(t_tls)
        st, need, msg, ticket = answer_full(ans)
        if len(ticket) == 32:
            real, fake = ticket, os.urandom(32)
            m = msg.encode()
            ans = struct.pack(">iBI", st, need, len(m)) + m + struct.pack(">I", 32) + fake
        s_tls.sendall(struct.pack(">I", len(ans)) + ans)
        if st != 0 or real:
            break
        if need:
            t_tls.sendall(recv_exact(s_tls, size))
    log["answer"] = msg
    if not real:
        return
    data, _ = ls.accept()
    data.settimeout(max(1.0, deadline - time.time()))
    hello = recv_exact(data, DATA_HELLO_LEN)
    log["fake_ticket_used"] = hello[8:] == fake
    dst = connect(a.to, 5)
    dst.sendall(b"TALOSD2\0" + real)
    data.settimeout(None)
    dst.settimeout(None)
    ts = [threading.Thread(target=pump, args=xy) for xy in ((data, dst), (dst, data))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.1, deadline - time.time()))
    for s_ in (data, dst, s_tls, t_tls):
        try:
            s_.close()
        except OSError:
            pass


def show(path):
    segs, s2t, t2s = read_capture(path)
    pre = DATA_HELLO_LEN
    print("segments %d, source->target %d bytes (preamble %d), target->source %d bytes"
          % (len(segs), len(s2t), pre, len(t2s)))
    for i, (off, typ, n) in enumerate(tls_records(s2t[pre:]), 1):
        print("record %4d  offset %8d  type %2d  length %6d" % (i, off, typ, n))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=int)
    p.add_argument("--to")
    p.add_argument("--mode", default="pass",
                   choices=["pass", "record", "flip", "drop", "dup", "reorder", "truncate",
                            "mirror", "replay", "fake-source", "mitm", "offer", "relabel"])
    p.add_argument("--capture")
    p.add_argument("--record")
    p.add_argument("--replay")
    p.add_argument("--mirror")
    p.add_argument("--image")
    p.add_argument("--lineage")
    p.add_argument("--evidence")
    p.add_argument("--hint", type=int, default=0, help="fake-source: the HELLO's arena size hint")
    p.add_argument("--corrupt-image", action="store_true",
                   help="offer: announce the image's hash, send it with one bit flipped")
    p.add_argument("--stall", type=float, default=0,
                   help="fake-source: after HELLO, trickle a byte every 2 s for S seconds")
    p.add_argument("--tmpdir", default="/tmp")
    p.add_argument("--node-ca", help="DIR, 'other' or 'none' (default $TALOS_NODE_CA)")
    p.add_argument("--skip", type=int)
    p.add_argument("--offset", type=int)
    p.add_argument("--tls-offset", type=int)
    p.add_argument("--link-offset", type=int,
                   help="flip bit --bit of this byte of the first node link (source -> target)")
    p.add_argument("--nth", type=int)
    p.add_argument("--nth2", type=int)
    p.add_argument("--at", type=int)
    p.add_argument("--bit", type=int, default=0)
    p.add_argument("--xor", help="with --offset: XOR these bytes (hex) in, from the offset on")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--log")
    p.add_argument("--then-pass", type=float)
    p.add_argument("--then-pass-for", type=float, default=30)
    p.add_argument("--show")
    p.add_argument("--daemon", action="store_true",
                   help="listen, then run in the background and print its pid")
    a = p.parse_args()
    if a.show:
        return show(a.show)
    if not a.to:
        p.error("--to is required")
    if a.mode in ("drop", "dup", "reorder", "truncate") and a.nth is None:
        p.error("--nth K is required for " + a.mode)
    if a.mode == "flip" and [a.offset, a.tls_offset, a.at, a.link_offset].count(None) != 3:
        p.error("flip needs exactly one of --offset, --tls-offset, --nth K --at OFF, --link-offset")
    if a.mode == "flip" and a.at is not None and a.nth is None:
        p.error("--at needs --nth")
    if a.mode == "mirror" and not (a.mirror and a.lineage and a.image):
        p.error("mirror needs --mirror HOST:PORT --lineage HEX --image FILE")
    if a.mode == "replay" and not (a.replay and a.lineage and a.image):
        p.error("replay needs --replay FILE --lineage HEX --image FILE")
    if a.mode == "offer" and not (a.lineage and a.image):
        p.error("offer needs --lineage HEX --image FILE")
    if a.mode == "fake-source" and not (a.lineage and a.image and (a.evidence or a.stall)):
        p.error("fake-source needs --lineage HEX --image FILE --evidence FILE (or --stall S)")
    active = ("replay", "fake-source", "offer")
    if a.mode not in active and a.listen is None:
        p.error("--listen PORT is required")
    log = {"mode": a.mode}
    ls = listener(a.listen, 8) if a.mode not in active else None
    if a.daemon:
        # Listening already: the caller may connect as soon as we print.
        if daemonize():
            return
    try:
        if a.mode == "replay":
            replay(a, log)
        elif a.mode == "fake-source":
            fake_source(a, log)
        elif a.mode == "offer":
            ticket, link = node_offer(a, a.to, log)
            log["target_ready"] = ticket is not None
            if link:
                link.close()
        elif a.mode == "mitm":
            mitm(a, ls, log)
        elif a.mode == "relabel":
            relabel(a, ls, log)
        else:
            relay(a, ls, log)
    except Exception as e:  # reported, not hidden: the test reads the log
        log["exception"] = "%s: %s" % (type(e).__name__, e)
        raise
    finally:
        if a.log:
            with open(a.log + ".tmp", "w") as f:
                json.dump(log, f)
            os.rename(a.log + ".tmp", a.log)
    if a.then_pass is not None:
        then_pass(a)


def then_pass(a):
    """Plain relay of every further connection (threads), for a bounded time."""
    import threading
    time.sleep(a.then_pass)
    end = time.time() + a.then_pass_for
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen))
    ls.listen(8)
    while time.time() < end:
        ls.settimeout(max(0.1, end - time.time()))
        try:
            src, _ = ls.accept()
        except socket.timeout:
            break
        dst = connect(a.to, 5)
        src.settimeout(None)
        dst.settimeout(None)
        for x, y in ((src, dst), (dst, src)):
            threading.Thread(target=pump, args=(x, y), daemon=True).start()
    ls.close()


if __name__ == "__main__":
    main()
