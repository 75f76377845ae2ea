#!/usr/bin/env python3
"""An adversary on the wire between two talosd nodes, for the attack tests.

    proxy.py --listen PORT --to HOST:PORT --mode MODE [options]   # on the wire
    proxy.py --daemon --listen ...  # listen, fork, print the proxy's pid, return
    proxy.py --mode replay --replay FILE --to HOST:PORT            # as a source
    proxy.py --mode fake-source --to HOST:PORT --lineage ID --image TA --evidence HEXFILE
    proxy.py --show FILE                                           # print a capture

It listens on 127.0.0.1:PORT, takes ONE connection (the source node's), opens
one to the target node (two in `mirror` mode), relays, and exits when both
directions are done, or after --timeout seconds (default 30) whatever
happens. Every run is bounded.

What it understands of the stream (node/talosd/peerproto.h): the node
preamble is plaintext, u32-length-prefixed messages. Source -> target: the
OFFER (69 bytes with its prefix, carrying the image size), then the image
bytes if the target asked for them. Target -> source: 2 answers (image
present, target ready) or 3 (send the image, image present, target ready).
The proxy parses the target's first answer to learn whether image bytes
follow the OFFER (the source sends nothing after the OFFER before it has
that answer, so the proxy always knows in time), and so finds the first TLS
byte of the source -> target direction exactly. `--skip N` overrides the
parsing: the first N bytes are the preamble. After the preamble the source
-> target direction is split into TLS records (5-byte header: type,
version, u16 length); record 1 is the ClientHello.

Modes (all tampering is on the source -> target direction):
  pass      relay (with --capture FILE: both directions to FILE)
  record    = pass, --record FILE is the capture
  flip      flip bit --bit B (default 0) of one byte, chosen by one of
              --offset N      absolute offset from the connection start
                              (N < 69 lands inside the OFFER); with
                              --xor HEX, XOR several bytes from there on
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
  mirror    also send every source byte to --mirror HOST:PORT; only the
              --to target's bytes go back to the source
  replay    no listener: act as the source towards --to. Plays the OFFER of
              the recording --replay FILE, follows the live preamble
              (sends the recorded image bytes only if this target asks for
              the image, or --image FILE when the recording has none), then
              replays the recorded TLS bytes in their recorded segments,
              each after the target has sent at least as many bytes as it
              had at that point of the recording (or 2 s passed)
  fake-source  no listener: speak the preamble for --lineage with --image,
              open a TLS 1.3 channel of our own (fresh self-signed Ed25519
              certificate, like a TA's) to the virgin target, send HELLO and
              then EVIDENCE with the evidence in --evidence (hex), and log
              the target's answers (an ABORT's code is decoded)
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
"""
import argparse, json, os, select, socket, struct, sys, time

MAGIC = b"TALOSCAP1\n"
OFFER_LEN = 4 + 8 + 16 + 32 + 8 + 1


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
    status, need = struct.unpack(">iB", body[:5])
    (ml,) = struct.unpack(">I", body[5:9])
    return status, need, body[9:9 + ml].decode(errors="replace")


def offer_image_size(offer_msg):
    return struct.unpack(">Q", offer_msg[4 + 8 + 16 + 32:4 + 8 + 16 + 32 + 8])[0]


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
        self.skip = a.skip          # preamble length once known
        self.pos = 0                # bytes of the direction seen so far
        self.need_image = None
        self.image_size = None
        self.head = bytearray()     # the OFFER as it passes
        self.buf = bytearray()      # TLS bytes not yet a whole record
        self.nrec = 0
        self.records = []
        self.held = None
        self.closed_target = False  # truncate: nothing more goes out
        self.action = None

    def learn_answer(self, need_image):
        if self.need_image is None:
            self.need_image = bool(need_image)
            self.settle()

    def settle(self):
        if self.skip is None and self.image_size is not None and self.need_image is not None:
            self.skip = OFFER_LEN + (self.image_size if self.need_image else 0)

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
            if self.skip is None:
                if p < OFFER_LEN:
                    # The OFFER may come in pieces (length prefix, then body).
                    n = min(len(data) - i, OFFER_LEN - p)
                    self.head += data[i:i + n]
                    out += data[i:i + n]
                    i += n
                    if len(self.head) == OFFER_LEN:
                        self.image_size = offer_image_size(bytes(self.head))
                        self.settle()
                    continue
                out += data[i:]  # cannot happen: the source waits for the answer
                break
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


class Answers:
    """Parses the target's preamble answers to learn need_image."""

    def __init__(self, on_first):
        self.buf = bytearray()
        self.on_first = on_first
        self.done = False
        self.first = None

    def feed(self, data):
        if self.done:
            return
        self.buf += data
        m = parse_msgs(bytes(self.buf), 1)
        if m:
            self.done = True
            try:
                self.first = answer_fields(m[0][0])
                self.on_first(self.first[1])
            except struct.error:
                self.on_first(0)


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


def relay(a, ls, log):
    deadline = DEADLINE[0] = time.time() + a.timeout
    ls.settimeout(a.timeout)
    try:
        src, _ = ls.accept()
    except socket.timeout:
        log["error"] = "no connection"
        return
    ls.close()
    dst = connect(a.to, 5)
    mir = connect(a.mirror, 5) if a.mode == "mirror" else None
    for s in (src, dst, mir):
        if s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cap = Capture(a.capture or a.record)
    s2t = S2T(a)
    answers = Answers(s2t.learn_answer)
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
                if mir_writable and not send_all(mir, data):
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
                answers.feed(data)
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
    log.update(preamble=s2t.skip, need_image=s2t.need_image, tls_records=s2t.nrec,
               records=s2t.records[:400], action=s2t.action, closed=order,
               answer=answers.first)
    for s in (src, dst, mir):
        if s:
            s.close()


def replay(a, log):
    segs, rec_s2t, rec_t2s = read_capture(a.replay)
    deadline = time.time() + a.timeout
    offer = rec_s2t[:OFFER_LEN]
    image_size = offer_image_size(offer)
    first = parse_msgs(rec_t2s, 1)
    rec_need = bool(first and answer_fields(first[0][0])[1])
    rec_pre_s2t = OFFER_LEN + (image_size if rec_need else 0)
    rec_pre_t2s = parse_msgs(rec_t2s, 3 if rec_need else 2)[1]
    recorded_image = rec_s2t[OFFER_LEN:rec_pre_s2t] if rec_need else None
    # The recorded TLS segments, each with the target bytes seen before it.
    plan, s_off, t_off = [], 0, 0
    for d, b in segs:
        if d == ">":
            lo, hi = s_off, s_off + len(b)
            if hi > rec_pre_s2t:
                plan.append((max(0, t_off - rec_pre_t2s), b[max(0, rec_pre_s2t - lo):]))
            s_off = hi
        elif d == "<":
            t_off += len(b)
    sock = connect(a.to, 5)
    sock.settimeout(max(1.0, deadline - time.time()))
    cap = Capture(a.capture)

    def recv_msg():
        hdr = b""
        while len(hdr) < 4:
            c = sock.recv(4 - len(hdr))
            if not c:
                return None
            hdr += c
        (n,) = struct.unpack(">I", hdr)
        body = b""
        while len(body) < n:
            c = sock.recv(n - len(body))
            if not c:
                return None
            body += c
        cap.add("<", hdr + body)
        return body

    def send(b):
        cap.add(">", b)
        sock.sendall(b)

    answers = []
    log["recorded_need_image"] = rec_need
    send(offer)
    ans = recv_msg()
    if ans is None:
        log["refused"] = "closed after the OFFER"
        return
    answers.append(answer_fields(ans))
    if answers[-1][0] == 0 and answers[-1][1]:
        img = recorded_image
        if img is None and a.image:
            img = open(a.image, "rb").read()
        if img is None:
            log["refused"] = "the target wants the image and the recording has none (--image)"
            return
        send(img)
        ans = recv_msg()
        answers.append(answer_fields(ans) if ans else None)
    if answers[-1] and answers[-1][0] == 0:
        ans = recv_msg()
        answers.append(answer_fields(ans) if ans else None)
    log["answers"] = answers
    if not answers[-1] or answers[-1][0] != 0 or "target ready" not in answers[-1][2]:
        log["refused"] = "preamble"
        return
    log["target_ready"] = True
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
    import ssl, subprocess
    key, cert = os.path.join(tmpdir, "adv-key.pem"), os.path.join(tmpdir, "adv-cert.pem")
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
    import hashlib
    deadline = time.time() + a.timeout
    lineage = bytes.fromhex(a.lineage)
    image = open(a.image, "rb").read()
    sock = connect(a.to, 5)
    sock.settimeout(max(1.0, deadline - time.time()))
    offer = b"TALOSP1\0" + lineage + hashlib.sha256(image).digest() + struct.pack(">QB", len(image), 0)
    sock.sendall(struct.pack(">I", len(offer)) + offer)
    answers = [answer_fields(recv_peer_msg(sock)[1])]
    if answers[-1][0] == 0 and answers[-1][1]:
        sock.sendall(image)
        answers.append(answer_fields(recv_peer_msg(sock)[1]))
    if answers[-1][0] == 0:
        answers.append(answer_fields(recv_peer_msg(sock)[1]))
    log["answers"] = answers
    if answers[-1][0] != 0 or "target ready" not in answers[-1][2]:
        log["refused"] = "preamble"
        return
    log["target_ready"] = True
    tls = tls_context(False, a.tmpdir).wrap_socket(sock)
    log["tls"] = tls.version()
    # HELLO: version 1 ‖ session ‖ nonce ‖ lineage ‖ u64 arena size hint (0: no pre-faulting)
    send_mig(tls, 1, bytes([1]) + os.urandom(16) + os.urandom(32) + lineage + struct.pack(">Q", 0))
    log["replies"] = [describe(*recv_mig(tls))]
    ev = bytes.fromhex(open(a.evidence).read().strip())
    send_mig(tls, 3, struct.pack(">I", len(ev)) + ev)
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
    ls.settimeout(a.timeout)
    try:
        src, _ = ls.accept()
    except socket.timeout:
        log["error"] = "no connection"
        return
    ls.close()
    dst = connect(a.to, 5)
    for s in (src, dst):
        s.settimeout(max(1.0, deadline - time.time()))
    raw, body = recv_peer_msg(src)
    dst.sendall(raw)
    size = offer_image_size(raw)
    while True:
        raw, body = recv_peer_msg(dst)
        src.sendall(raw)
        st, need, msg = answer_fields(body)
        if st != 0 or "target ready" in msg:
            break
        if need:
            dst.sendall(recv_exact(src, size))
    log["preamble_end"] = msg
    if st != 0:
        return
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


def show(path):
    segs, s2t, t2s = read_capture(path)
    first = parse_msgs(t2s, 1)
    need = bool(first and answer_fields(first[0][0])[1])
    pre = OFFER_LEN + (offer_image_size(s2t[:OFFER_LEN]) if need else 0)
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
                            "mirror", "replay", "fake-source", "mitm"])
    p.add_argument("--capture")
    p.add_argument("--record")
    p.add_argument("--replay")
    p.add_argument("--mirror")
    p.add_argument("--image")
    p.add_argument("--lineage")
    p.add_argument("--evidence")
    p.add_argument("--tmpdir", default="/tmp")
    p.add_argument("--skip", type=int)
    p.add_argument("--offset", type=int)
    p.add_argument("--tls-offset", type=int)
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
    if a.mode == "flip" and [a.offset, a.tls_offset, a.at].count(None) != 2:
        p.error("flip needs exactly one of --offset, --tls-offset, --nth K --at OFF")
    if a.mode == "flip" and a.at is not None and a.nth is None:
        p.error("--at needs --nth")
    if a.mode == "mirror" and not a.mirror:
        p.error("mirror needs --mirror HOST:PORT")
    if a.mode == "replay" and not a.replay:
        p.error("replay needs --replay FILE")
    if a.mode == "fake-source" and not (a.lineage and a.image and a.evidence):
        p.error("fake-source needs --lineage HEX --image FILE --evidence FILE")
    if a.mode not in ("replay", "fake-source") and a.listen is None:
        p.error("--listen PORT is required")
    log = {"mode": a.mode}
    ls = listener(a.listen) if a.mode not in ("replay", "fake-source") else None
    if a.daemon:
        # Listening already: the caller may connect as soon as we print.
        if daemonize():
            return
    try:
        if a.mode == "replay":
            replay(a, log)
        elif a.mode == "fake-source":
            fake_source(a, log)
        elif a.mode == "mitm":
            mitm(a, ls, log)
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

    def pump(x, y):
        try:
            while True:
                d = x.recv(1 << 16)
                if not d:
                    break
                y.sendall(d)
        except OSError:
            pass
        try:
            y.shutdown(socket.SHUT_WR)
        except OSError:
            pass

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
