#!/usr/bin/env python3
"""Raw TFTP client for precise protocol checks in the integration tests.

Every subcommand prints its findings as `key=value` lines on stdout (one fact per line) so the
shell scripts can assert on them with `kv FILE KEY` from lib.sh. Nothing here retries forever:
every wait has a deadline.

Subcommands
  get     RRQ with arbitrary options; OACK/DATA/ERROR handling, windowed ACKs (RFC 7440),
          block-number rollover, duplicate-ACK injection, slow ACKing, an intruder socket
          (wrong TID), counting of every DATA packet received.
  stall   RRQ, ACK the OACK (if any), take DATA 1, then stay silent and record when the server
          retransmits (timing, block numbers) until it gives up.
  wrq     WRQ for a name; report the server's first reply.
  raw     Send arbitrary bytes (hex) to HOST:PORT and report the first reply (or none).
  watch   inotify watch on paths; print one line per open/access event until SIGTERM.
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import os
import select
import signal
import socket
import struct
import sys
import time

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6


def out(key, value):
    """Print one fact; values are made single-line and printable."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = str(value)
    value = "".join(c if 32 <= ord(c) < 127 else "\\x%02x" % ord(c) for c in value)
    print("%s=%s" % (key, value), flush=True)


def build_request(op, name, mode, opts):
    """RRQ/WRQ packet. name/mode are bytes; opts is a list of (bytes, bytes)."""
    pkt = struct.pack("!H", op) + name + b"\0" + mode + b"\0"
    for k, v in opts:
        pkt += k + b"\0" + v + b"\0"
    return pkt


def parse_oack(payload):
    """Split OACK payload into a dict (lower-cased names). Returns None when malformed."""
    parts = payload.split(b"\0")
    if not parts or parts[-1] != b"":
        return None
    parts = parts[:-1]
    if len(parts) % 2:
        return None
    return {parts[i].decode("latin-1").lower(): parts[i + 1].decode("latin-1")
            for i in range(0, len(parts), 2)}


def describe(pkt):
    """(opcode, dict) for any received packet."""
    if len(pkt) < 2:
        return None, {"short": len(pkt)}
    op = struct.unpack("!H", pkt[:2])[0]
    d = {}
    if op == OP_ERROR and len(pkt) >= 4:
        d["code"] = struct.unpack("!H", pkt[2:4])[0]
        d["msg"] = pkt[4:].split(b"\0")[0]
    elif op in (OP_DATA, OP_ACK) and len(pkt) >= 4:
        d["block"] = struct.unpack("!H", pkt[2:4])[0]
        d["len"] = len(pkt) - 4
    elif op == OP_OACK:
        d["oack"] = parse_oack(pkt[2:])
    return op, d


def parse_opts(items):
    """--opt NAME=VALUE (repeatable) into a list of (bytes, bytes)."""
    res = []
    for it in items or []:
        k, _, v = it.partition("=")
        res.append((k.encode("latin-1"), v.encode("latin-1")))
    return res


def unescape(s):
    """Allow \\xNN escapes in names given on the command line (control chars, NUL)."""
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Recv:
    """Socket wrapper with deadline-bounded receive that remembers the peer of each packet.
    A send that fails (e.g. a local firewall drop returning EPERM) counts as a lost packet."""

    def __init__(self, family=socket.AF_INET, bind_addr=""):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((bind_addr, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def send(self, pkt, addr):
        try:
            self.sock.sendto(pkt, addr)
            return True
        except OSError:
            return False

    def recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return None, None
        pkt, addr = self.sock.recvfrom(70000)
        return pkt, addr


def cmd_get(a):
    host, port = a.host, a.port
    name = unescape(a.file)
    opts = parse_opts(a.opt)
    req = build_request(OP_RRQ, name, a.mode.encode(), opts)
    r = Recv(bind_addr=a.bind)
    t0 = time.monotonic()
    r.send(req, (host, port))
    if a.repeat_rrq:
        time.sleep(0.01)
        r.send(req, (host, port))
    out("local_port", r.sock.getsockname()[1])

    peer = None
    blksize, windowsize = 512, 1
    oack = None
    data = bytearray()
    nxt = 1                 # next expected block, as an unbounded integer
    since_ack = 0           # blocks received since our last ACK (window counting)
    last_ack = None         # last ACK packet sent (bytes) for retransmission on timeout
    data_packets = dup_data = gaps = foreign = retries = acks_sent = 0
    first_len = None
    result = None
    started_marked = False
    intruder = None
    intruder_reply = "none"
    lens = set()
    drop = set(int(x) for x in a.drop_blocks.split(",") if x) if a.drop_blocks else set()
    gap_acked_for = None

    lose_acks = set(int(x) for x in a.lose_acks.split(",") if x) if a.lose_acks else set()

    def send_ack(block):
        nonlocal last_ack, acks_sent
        pkt = struct.pack("!HH", OP_ACK, block & 0xFFFF)
        last_ack = pkt
        if block in lose_acks:          # simulate the loss of this ACK, once
            lose_acks.discard(block)
            out("lost_ack", block)
            return
        n = 2 if a.dup_acks else 1
        for _ in range(n):
            r.send(pkt, peer)
            acks_sent += 1

    deadline_total = t0 + a.total_timeout
    while True:
        now = time.monotonic()
        if now > deadline_total:
            result = "timeout"
            break
        pkt, addr = r.recv(min(a.timeout, deadline_total - now))
        if pkt is None:
            if retries >= a.retries or (peer is not None and last_ack is None):
                result = "timeout"
                break
            retries += 1
            if peer is None:
                r.send(req, (host, port))       # the request (or every reply) was lost
            else:
                # RFC 7440 §4: on timeout, ACK the last block received in order.
                send_ack(nxt - 1)
                since_ack = 0
            continue
        if peer is None:
            if addr[0] != host and not a.any_source:
                foreign += 1
                continue
            peer = addr
            out("server_port", addr[1])
        elif addr != peer:
            foreign += 1
            # RFC 1350: a packet from an unexpected TID gets ERROR 5; the transfer goes on.
            r.send(struct.pack("!HH", OP_ERROR, 5) + b"Unknown transfer ID\0", addr)
            continue
        op, d = describe(pkt)
        if op == OP_ERROR:
            result = "error"
            out("error_code", d.get("code", -1))
            out("error_msg", d.get("msg", b""))
            break
        if op == OP_OACK:
            if oack is not None or nxt != 1:
                dup_data += 1       # OACK retransmitted after we answered it
                continue
            oack = d["oack"]
            if oack is None:
                result = "protocol"
                out("protocol_error", "malformed OACK")
                break
            out("oack", 1)
            for k, v in sorted(oack.items()):
                out("oack_" + k, v)
            try:
                blksize = int(oack.get("blksize", 512))
                windowsize = int(oack.get("windowsize", 1))
            except ValueError:
                result = "protocol"
                out("protocol_error", "non-numeric OACK value")
                break
            if a.no_ack_oack:
                result = "oack-only"
                break
            send_ack(0)
            continue
        if op != OP_DATA:
            result = "protocol"
            out("protocol_error", "unexpected opcode %s" % op)
            break
        data_packets += 1
        if first_len is None:
            first_len = d["len"]
            if a.started_file and not started_marked:
                with open(a.started_file, "w") as f:
                    f.write("started\n")
                started_marked = True
            if a.intruder:
                intruder = Recv(bind_addr=a.bind)
                intruder.send(struct.pack("!HH", OP_ACK, 1), peer)
        if d["block"] == (nxt & 0xFFFF) and nxt in drop:
            drop.discard(nxt)        # simulate the loss of this block, once
            out("dropped_block", nxt)
            continue
        if d["block"] == (nxt & 0xFFFF):
            payload = pkt[4:]
            data += payload
            lens.add(len(payload))
            if len(payload) > blksize:
                result = "protocol"
                out("protocol_error", "DATA longer than blksize")
                break
            nxt += 1
            since_ack += 1
            retries = 0
            last = len(payload) < blksize
            if a.max_blocks and nxt - 1 >= a.max_blocks and not last:
                result = "abandoned"
                break
            if a.error_after and nxt - 1 >= a.error_after and not last:
                r.send(struct.pack("!HH", OP_ERROR, 0) + b"client abort\0", peer)
                result = "aborted"
                break
            if last or since_ack >= windowsize:
                if a.ack_delay:
                    time.sleep(a.ack_delay)
                send_ack(nxt - 1)
                since_ack = 0
                if last:
                    result = "ok"
                    break
        else:
            # Block behind the one we expect: duplicate. Ahead: a gap (lost packet).
            diff = (d["block"] - (nxt & 0xFFFF)) & 0xFFFF
            if diff >= 0x8000:
                dup_data += 1
                # The server is re-sending: an ACK of ours was lost, or it restarted its window
                # earlier than our count assumes. ACK the last block received in order, which
                # also realigns our window count with the server's. Once per re-sent block at
                # most (a server must not answer a duplicate ACK with data; that is what the
                # --dup-acks checks look at, so this stays off there).
                acked = struct.unpack("!H", last_ack[2:4])[0] if last_ack else None
                if not a.dup_acks and not a.timer_only and (acked != ((nxt - 1) & 0xFFFF) or
                                       d["block"] == ((nxt - 1) & 0xFFFF)):
                    send_ack(nxt - 1)
                    since_ack = 0
            else:
                # RFC 7440: ACK the last block received in order, once per gap.
                gaps += 1
                if gap_acked_for != nxt and not a.timer_only:
                    gap_acked_for = nxt
                    send_ack(nxt - 1)
                    since_ack = 0

    elapsed = time.monotonic() - t0
    # Linger: any DATA arriving after the end is a useless re-send; count it.
    if result in ("ok", "aborted", "abandoned") and a.linger > 0:
        end = time.monotonic() + a.linger
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            pkt, addr = r.recv(left)
            if pkt is None:
                break
            if addr == peer and pkt[:2] == struct.pack("!H", OP_DATA):
                dup_data += 1
    if intruder is not None:
        pkt, addr = intruder.recv(1.0)
        if pkt is not None:
            op, d = describe(pkt)
            intruder_reply = "error%d" % d.get("code", -1) if op == OP_ERROR else "op%s" % op
        out("intruder_reply", intruder_reply)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(data)
    out("result", result)
    out("bytes", len(data))
    out("blocks", nxt - 1)
    out("data_packets", data_packets)
    out("dup_data", dup_data)
    out("gaps", gaps)
    out("foreign", foreign)
    out("acks_sent", acks_sent)
    out("blksize", blksize)
    out("windowsize", windowsize)
    out("first_len", first_len if first_len is not None else -1)
    out("max_len", max(lens) if lens else -1)
    out("rollovers", (nxt - 1) // 65536)
    out("sha256", hashlib.sha256(data).hexdigest())
    out("elapsed", "%.3f" % elapsed)
    return 0


def cmd_stall(a):
    """Take the first DATA, then go silent and time the server's retransmissions."""
    name = unescape(a.file)
    opts = parse_opts(a.opt)
    r = Recv(bind_addr=a.bind)
    r.send(build_request(OP_RRQ, name, a.mode.encode(), opts), (a.host, a.port))
    out("local_port", r.sock.getsockname()[1])
    peer = None
    deadline = time.monotonic() + 10
    first = None
    while time.monotonic() < deadline:
        pkt, addr = r.recv(deadline - time.monotonic())
        if pkt is None:
            break
        peer = addr
        op, d = describe(pkt)
        if op == OP_OACK:
            out("oack", 1)
            for k, v in sorted((d["oack"] or {}).items()):
                out("oack_" + k, v)
            r.send(struct.pack("!HH", OP_ACK, 0), peer)
            continue
        if op == OP_DATA:
            first = time.monotonic()
            out("first_block", d["block"])
            break
        out("result", "unexpected")
        out("opcode", op)
        return 0
    if first is None:
        out("result", "no-data")
        return 0
    times, blocks, errors, others = [], [], [], 0
    last = first
    end = first + a.observe
    while True:
        now = time.monotonic()
        if now >= end:
            break
        # Stop once the server has been quiet for `quiet` seconds after its last packet.
        wait = min(end - now, last + a.quiet - now)
        if wait <= 0:
            break
        pkt, addr = r.recv(wait)
        if pkt is None:
            continue
        if addr != peer:
            others += 1
            continue
        op, d = describe(pkt)
        last = time.monotonic()
        if op == OP_DATA:
            times.append(last - first)
            blocks.append(d["block"])
        elif op == OP_ERROR:
            errors.append("%d:%s" % (d.get("code", -1), d.get("msg", b"").decode("latin-1")))
            break
        else:
            others += 1
    stopped = (time.monotonic() - last) >= a.quiet - 0.05 or bool(errors)
    out("result", "observed")
    out("retransmits", len(times))
    out("times", ",".join("%.3f" % t for t in times))
    prev, ivals = 0.0, []
    for t in times:
        ivals.append(t - prev)
        prev = t
    out("intervals", ",".join("%.3f" % i for i in ivals))
    out("blocks", ",".join(str(b) for b in blocks))
    out("error", ";".join(errors))
    out("others", others)
    out("stopped", 1 if stopped else 0)
    return 0


def cmd_wrq(a):
    r = Recv(bind_addr=a.bind)
    r.send(build_request(OP_WRQ, unescape(a.file), a.mode.encode(), parse_opts(a.opt)),
                  (a.host, a.port))
    return report_reply(r, a.timeout)


def report_reply(r, timeout):
    pkt, addr = r.recv(timeout)
    if pkt is None:
        out("reply", "none")
        return 0
    op, d = describe(pkt)
    out("reply_port", addr[1])
    out("opcode", op)
    if op == OP_ERROR:
        out("reply", "error")
        out("error_code", d.get("code", -1))
        out("error_msg", d.get("msg", b""))
    elif op == OP_OACK:
        out("reply", "oack")
        for k, v in sorted((d["oack"] or {}).items()):
            out("oack_" + k, v)
    elif op in (OP_DATA, OP_ACK):
        out("reply", "data" if op == OP_DATA else "ack")
        out("block", d["block"])
    else:
        out("reply", "other")
    return 0


def cmd_raw(a):
    r = Recv(bind_addr=a.bind)
    r.send(bytes.fromhex(a.hex), (a.host, a.port))
    return report_reply(r, a.timeout)


def cmd_watch(a):
    """inotify watch: proves a file was never opened, whatever path the server used."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    IN_ACCESS, IN_OPEN = 0x1, 0x20
    fd = libc.inotify_init1(0)
    if fd < 0:
        print("error=inotify_init1", flush=True)
        return 2
    wds = {}
    for p in a.paths:
        wd = libc.inotify_add_watch(fd, p.encode(), IN_ACCESS | IN_OPEN)
        if wd < 0:
            print("error=add_watch %s" % p, flush=True)
            return 2
        wds[wd] = p
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    end = time.monotonic() + a.max_time
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        buf = os.read(fd, 65536)
        i = 0
        while i + 16 <= len(buf):
            wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + ln].split(b"\0")[0].decode("latin-1")
            kind = "open" if mask & IN_OPEN else "access"
            print("event=%s %s %s" % (kind, wds.get(wd, "?"), name), flush=True)
            i += 16 + ln
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, file_arg=True):
        sp.add_argument("host")
        sp.add_argument("port", type=int)
        if file_arg:
            sp.add_argument("file", help="remote name; \\xNN escapes allowed")
            sp.add_argument("--mode", default="octet")
            sp.add_argument("--opt", action="append", help="NAME=VALUE, repeatable")
        sp.add_argument("--bind", default="", help="local address to send from")
        sp.add_argument("--timeout", type=float, default=3.0, help="per-packet wait (s)")

    g = sub.add_parser("get")
    common(g)
    g.add_argument("--out")
    g.add_argument("--retries", type=int, default=5)
    g.add_argument("--total-timeout", type=float, default=120.0)
    g.add_argument("--dup-acks", action="store_true", help="send every ACK twice")
    g.add_argument("--ack-delay", type=float, default=0.0, help="sleep before each ACK (s)")
    g.add_argument("--started-file", help="created when the first DATA arrives")
    g.add_argument("--linger", type=float, default=0.3, help="wait for stray DATA after the end")
    g.add_argument("--intruder", action="store_true",
                   help="after DATA 1, send an ACK to the transfer port from another socket")
    g.add_argument("--no-ack-oack", action="store_true", help="stop after the OACK")
    g.add_argument("--max-blocks", type=int, default=0, help="go silent after N blocks")
    g.add_argument("--error-after", type=int, default=0,
                   help="send ERROR 0 instead of the ACK after N blocks")
    g.add_argument("--drop-blocks", default="",
                   help="comma-separated block numbers (absolute) to ignore once, as if lost")
    g.add_argument("--any-source", action="store_true", help="accept a reply from any address")
    g.add_argument("--repeat-rrq", action="store_true", help="send the request twice")
    g.add_argument("--lose-acks", default="",
                   help="comma-separated block numbers whose ACK is not sent (once), as if lost")
    g.add_argument("--timer-only", action="store_true",
                   help="like atftp 0.8's windowed receiver: ignore duplicates and gaps, ACK the "
                        "last in-order block only after --timeout s without any packet")

    s = sub.add_parser("stall")
    common(s)
    s.add_argument("--observe", type=float, default=40.0, help="max observation time (s)")
    s.add_argument("--quiet", type=float, default=8.0, help="silence that means 'gave up' (s)")

    w = sub.add_parser("wrq")
    common(w)

    r = sub.add_parser("raw")
    common(r, file_arg=False)
    r.add_argument("hex", help="packet bytes in hex")

    wa = sub.add_parser("watch")
    wa.add_argument("paths", nargs="+")
    wa.add_argument("--ready")
    wa.add_argument("--max-time", type=float, default=900.0)

    a = p.parse_args()
    return {"get": cmd_get, "stall": cmd_stall, "wrq": cmd_wrq, "raw": cmd_raw,
            "watch": cmd_watch}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
