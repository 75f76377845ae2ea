#!/usr/bin/env python3
"""A raw client of the talosd control socket, for tests that need many
calls on one connection or need to send malformed frames on purpose."""
import json, socket, struct, sys


class Ctl:
    def __init__(self, sock_path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(sock_path)

    def raw(self, payload: bytes, length=None):
        n = len(payload) if length is None else length
        self.s.sendall(struct.pack(">I", n) + payload)
        return self.recv()

    def recv(self):
        hdr = self._read(4)
        if hdr is None:
            return None
        (n,) = struct.unpack(">I", hdr)
        body = self._read(n)
        return json.loads(body)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def req(self, **kw):
        return self.raw(json.dumps(kw).encode())
