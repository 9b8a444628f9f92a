#!/usr/bin/env python3
"""Raw DHCPv4 client for precise checks in the DHCP integration tests (stdlib only).

Runs inside a client network namespace. Every subcommand prints its findings as `key=value`
lines (read them with `kv FILE KEY` from lib.sh); every wait has a deadline.

Sending: by default a whole Ethernet frame on a packet socket (AF_PACKET), from source MAC
--mac (default: the interface's), IP 0.0.0.0:68 to 255.255.255.255:67, exactly like a client
without an address. With --from IP[:PORT] a UDP socket bound to that address (which must be
configured on the interface) sends instead: unicast renewals, RELEASE, a relay agent (port 67)
or a PXE client talking to port 4011.
Receiving: the same packet socket sees every frame on the interface, so each reply is reported
with its link-layer and IP/UDP addressing too (eth_dst, ip_dst, dport: checks of RFC 2131 §4.1
routing), whether or not the kernel would deliver it to a socket.

Subcommands
  discover  DISCOVER; report every reply (rN.*) and the first OFFER (offer.*).
  dora      DISCOVER, then REQUEST (SELECTING) for the chosen OFFER; offer.*, ack.*.
  request   one REQUEST in state init-reboot, selecting, renewing or rebinding; reply.*.
  decline   DECLINE of --ip (for --server-id); reports any reply (there should be none).
  release   RELEASE of --ip; reports any reply.
  inform    INFORM from --ip; reply.*.
  raw       arbitrary bytes (hex, garbage, a truncated DISCOVER) as a broadcast to port 67.
  sniff     capture every BOOTREPLY for --mac on the interface until --until arrives or the
            time is up (run it beside a real client: wire checks of what it received).
With --kill-on-ack PID, the process PID (pxed) gets SIGKILL the moment the first ACK arrives:
a lease the client saw acknowledged must survive that (crash tests).

Reply fields: type op xid yiaddr ciaddr siaddr giaddr flags hops chaddr sname file eth_src
eth_dst ip_src ip_dst sport dport len opts (option codes in wire order) opt.N (hex of each
option, RFC 3396 instances joined) and decoded ones: server_id mask router dns hostname
rootpath lease t1 t2 message vendor_class bootfile_opt tftp_server overload.
"""

import argparse
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_BINDTODEVICE = 25
MAGIC = b"\x63\x82\x53\x63"
TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
         7: "RELEASE", 8: "INFORM"}
TYPE_NUM = {v: k for k, v in TYPES.items()}


def out(key, value):
    """Print one fact; values are made single-line and printable."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = str(value)
    value = "".join(c if 32 <= ord(c) < 127 else "\\x%02x" % ord(c) for c in value)
    print("%s=%s" % (key, value), flush=True)


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC " + s)
    return b


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def ip2b(s):
    return socket.inet_aton(s)


def b2ip(b):
    return socket.inet_ntoa(b)


def if_mac(ifname):
    with open("/sys/class/net/%s/address" % ifname) as f:
        return mac_bytes(f.read().strip())


def hostport(s, default_port):
    h, _, p = s.partition(":")
    return h, int(p) if p else default_port


# ---- building -----------------------------------------------------------------------------

def build_options(a, msgtype):
    """Options of a request, in this order: 53, then the ones asked for on the command line,
    55 last but one, 82 (a relay agent appends it) last."""
    o = [(53, bytes([msgtype]))]
    if a.client_id:
        o.append((61, bytes.fromhex(a.client_id.replace(":", ""))))
    if getattr(a, "req_ip", None):
        o.append((50, ip2b(a.req_ip)))
    if getattr(a, "server_id", None):
        o.append((54, ip2b(a.server_id)))
    if a.hostname:
        o.append((12, a.hostname.encode()))
    if a.maxsize:
        o.append((57, struct.pack("!H", a.maxsize)))
    if a.vendor_class:
        o.append((60, a.vendor_class.encode()))
    if a.user_class:
        o.append((77, a.user_class.encode()))
    if a.arch is not None:
        o.append((93, struct.pack("!H", a.arch)))
    if a.ndi:
        o.append((94, bytes([1, 3, 0])))
    if a.uuid:
        o.append((97, b"\x00" + bytes.fromhex(a.uuid.replace("-", ""))))
    for spec in a.opt or []:
        code, _, hx = spec.partition("=")
        o.append((int(code), bytes.fromhex(hx.replace(":", ""))))
    if a.prl:
        o.append((55, bytes(int(x) for x in a.prl.split(","))))
    if a.relay_agent:
        o.append((82, bytes.fromhex(a.relay_agent.replace(":", ""))))
    return o


def encode_options(opts):
    b = b""
    for code, val in opts:
        while True:  # RFC 3396: long values split into several instances
            chunk, val = val[:255], val[255:]
            b += bytes([code, len(chunk)]) + chunk
            if not val:
                break
    return b + b"\xff"


def build_msg(a, msgtype, ciaddr="0.0.0.0"):
    flags = 0x8000 if a.bflag else 0
    chaddr = mac_bytes(a.mac) + b"\0" * 10
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, a.hops, a.xid, a.secs, flags,
                      ip2b(ciaddr), b"\0" * 4, b"\0" * 4, ip2b(a.giaddr), chaddr, b"", b"")
    pkt = hdr + MAGIC + encode_options(build_options(a, msgtype))
    if len(pkt) < 300:  # RFC 1542 §2.1: at least the BOOTP size
        pkt += b"\0" * (300 - len(pkt))
    return pkt


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_udp(src, dst, sport, dport, payload):
    ulen = 8 + len(payload)
    pseudo = ip2b(src) + ip2b(dst) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + ulen, random.randint(0, 0xFFFF), 0,
                      64, 17, 0, ip2b(src), ip2b(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return iph + udp


# ---- parsing ------------------------------------------------------------------------------

def walk_options(buf, opts, order):
    """Walk an option area; append instances (joined per RFC 3396). Returns False if bad."""
    i = 0
    while i < len(buf):
        code = buf[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            return True
        if i + 1 >= len(buf) or i + 2 + buf[i + 1] > len(buf):
            return False
        val = buf[i + 2:i + 2 + buf[i + 1]]
        if code in opts:
            opts[code] += val
        else:
            opts[code] = val
            order.append(code)
        i += 2 + buf[i + 1]
    return True


def parse_msg(p):
    """A DHCP/BOOTP message as a dict, or None when it is not one."""
    if len(p) < 240:
        return None
    (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, ch, sname,
     fname) = struct.unpack("!BBBBIHH4s4s4s4s16s64s128s", p[:236])
    m = {"op": op, "xid": "%08x" % xid, "hops": hops, "flags": "%04x" % flags,
         "ciaddr": b2ip(ci), "yiaddr": b2ip(yi), "siaddr": b2ip(si), "giaddr": b2ip(gi),
         "chaddr": mac_str(ch[:min(hlen, 16)]), "len": len(p)}
    opts, order = {}, []
    ok = p[236:240] == MAGIC and walk_options(p[240:], opts, order)
    ov = opts.get(52, b"\0")[0] if 52 in opts else 0
    if ok and ov & 1:
        ok = walk_options(fname, opts, order)
    if ok and ov & 2:
        ok = walk_options(sname, opts, order)
    m["options_ok"] = 1 if ok else 0
    m["sname"] = "" if ov & 2 else sname.split(b"\0")[0]
    m["file"] = "" if ov & 1 else fname.split(b"\0")[0]
    m["opts"] = ",".join(str(c) for c in order)
    m["_opts"] = opts
    t = opts.get(53)
    m["type"] = TYPES.get(t[0], "TYPE%d" % t[0]) if t else "BOOTP"
    for code, val in opts.items():
        m["opt.%d" % code] = val.hex()

    def ips(v):
        return " ".join(b2ip(v[i:i + 4]) for i in range(0, len(v) - 3, 4))

    dec = {1: ("mask", ips), 3: ("router", ips), 6: ("dns", ips), 12: ("hostname", bytes),
           17: ("rootpath", bytes), 51: ("lease", None), 58: ("t1", None), 59: ("t2", None),
           54: ("server_id", ips), 56: ("message", bytes), 60: ("vendor_class", bytes),
           66: ("tftp_server", bytes), 67: ("bootfile_opt", bytes), 52: ("overload", None),
           28: ("broadcast", ips), 15: ("domain", bytes)}
    for code, (name, fn) in dec.items():
        if code in opts:
            v = opts[code]
            if fn is None:
                m[name] = int.from_bytes(v, "big")
            elif fn is bytes:
                m[name] = v
            else:
                m[name] = fn(v)
    return m


def parse_frame(f):
    """(eth_dst, eth_src, ip_src, ip_dst, sport, dport, payload) of an IPv4/UDP frame."""
    if len(f) < 14 + 20 + 8 or struct.unpack("!H", f[12:14])[0] != ETH_P_IP:
        return None
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[0] >> 4 != 4 or ip[9] != 17 or len(ip) < ihl + 8:
        return None
    tot = struct.unpack("!H", ip[2:4])[0]
    udp = ip[ihl:tot]
    sport, dport, ulen = struct.unpack("!HHH", udp[:6])
    return (mac_str(f[0:6]), mac_str(f[6:12]), b2ip(ip[12:16]), b2ip(ip[16:20]), sport, dport,
            udp[8:ulen])


# ---- the link -----------------------------------------------------------------------------

class Link:
    """A packet socket on the interface (send frames, see every reply) and optionally a UDP
    socket bound to --from."""

    def __init__(self, a):
        self.a = a
        self.ifname = a.iface
        self.pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.pk.bind((self.ifname, ETH_P_IP))
        self.pk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.udp = None
        self.listen_port = 68
        if a.frm:
            host, port = hostport(a.frm, 68)
            self.listen_port = port
            self.udp = self.udp_socket(host, port)
        else:
            try:  # keeps port 68 open: no ICMP "port unreachable" for unicast replies
                self.udp = self.udp_socket("0.0.0.0", 68)
            except OSError:
                self.udp = None
        self.udp_send = bool(a.frm)
        if a.port:
            self.listen_port = a.port
        self.n = 0

    def udp_socket(self, host, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode())
        s.bind((host, port))
        return s

    def send(self, payload):
        to_host, to_port = hostport(self.a.to, 67)
        if self.udp_send:
            self.udp.sendto(payload, (to_host, to_port))
            return
        src = mac_bytes(self.a.mac)
        if to_host != "255.255.255.255" and not self.a.to_mac:
            sys.exit("dhcpc: a unicast --to needs --from (UDP socket) or --to-mac (raw frame)")
        dst = b"\xff" * 6 if to_host == "255.255.255.255" else mac_bytes(self.a.to_mac)
        frame = dst + src + struct.pack("!H", ETH_P_IP)
        frame += ip_udp(self.a.src_ip, to_host, 68, to_port, payload)
        self.pk.send(frame)

    def replies(self, deadline, xid=None, mac=None):
        """Yield BOOTREPLY messages (dicts with addressing) for this client until deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            socks = [self.pk] + ([self.udp] if self.udp else [])
            r, _, _ = select.select(socks, [], [], left)
            if self.udp in r:
                self.udp.recv(4096)  # the packet socket has seen it already: drain
            if self.pk not in r:
                continue
            f, addr = self.pk.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            fr = parse_frame(f)
            if not fr or fr[5] != self.listen_port:
                continue
            m = parse_msg(fr[6])
            if not m or m["op"] != 2:
                continue
            if xid is not None and m["xid"] != "%08x" % xid:
                continue
            if mac and m["chaddr"] != mac:
                continue
            (m["eth_dst"], m["eth_src"], m["ip_src"], m["ip_dst"], m["sport"],
             m["dport"]) = fr[:6]
            self.n += 1
            m["n"] = self.n
            yield m


def report(prefix, m):
    for k in sorted(m):
        if k.startswith("_"):
            continue
        out(prefix + k, m[k])


def exchange(link, a, pkt, want, stop_first=True, wait=None):
    """Send pkt, collect replies for our xid; resend every --interval until a reply whose type
    is in want arrives (or --tries are used up). With stop_first False, keep collecting
    until the window of `wait` seconds after the last send closes. Every reply is printed as
    rN.*; returns the list."""
    got = []
    wait = a.wait if wait is None else wait
    for attempt in range(a.tries):
        link.send(pkt)
        end = time.monotonic() + (wait if not stop_first else a.interval)
        if attempt == a.tries - 1:
            end = time.monotonic() + wait
        for m in link.replies(end, xid=a.xid):
            if m["type"] == "ACK" and a.kill_on_ack:
                os.kill(a.kill_on_ack, signal.SIGKILL)  # before anything else: crash tests
                out("killed", a.kill_on_ack)
                a.kill_on_ack = None
            got.append(m)
            report("r%d." % m["n"], m)
            if stop_first and m["type"] in want:
                return got
        if any(m["type"] in want for m in got):
            return got
    return got


def pick(got, types, server=None):
    for m in got:
        if m["type"] in types and (server is None or m.get("server_id") == server):
            return m
    return None


# ---- subcommands --------------------------------------------------------------------------

def cmd_discover(a, link):
    got = exchange(link, a, build_msg(a, 1), ("OFFER",), stop_first=not a.all)
    out("replies", len(got))
    m = pick(got, ("OFFER",), a.select)
    if m:
        report("offer.", m)
    else:
        out("offer.type", "none")
    return m


def cmd_dora(a, link):
    offer = cmd_discover(a, link)
    if not offer:
        out("ack.type", "none")
        return 1
    a.req_ip = offer["yiaddr"]
    a.server_id = offer.get("server_id")
    got = exchange(link, a, build_msg(a, 3), ("ACK", "NAK"))
    m = pick(got, ("ACK", "NAK"))
    if m:
        report("ack.", m)
    else:
        out("ack.type", "none")
    return 0


def cmd_request(a, link):
    st = a.state
    ci = "0.0.0.0"
    if st == "selecting":
        if not (a.ip and a.server_id):
            sys.exit("request --state selecting needs --ip and --server-id")
        a.req_ip = a.ip
    elif st == "init-reboot":
        a.req_ip, a.server_id = a.ip, None
    elif st in ("renewing", "rebinding"):
        ci, a.req_ip, a.server_id = a.ip, None, None
    got = exchange(link, a, build_msg(a, 3, ciaddr=ci), ("ACK", "NAK"))
    out("replies", len(got))
    m = pick(got, ("ACK", "NAK"))
    if m:
        report("reply.", m)
    else:
        out("reply.type", "none")
    return 0


def cmd_decline(a, link):
    a.req_ip = a.ip
    got = exchange(link, a, build_msg(a, 4), (), stop_first=False)
    out("replies", len(got))
    return 0


def cmd_release(a, link):
    got = exchange(link, a, build_msg(a, 7, ciaddr=a.ip), (), stop_first=False)
    out("replies", len(got))
    return 0


def cmd_inform(a, link):
    got = exchange(link, a, build_msg(a, 8, ciaddr=a.ip), ("ACK",))
    out("replies", len(got))
    m = pick(got, ("ACK",))
    if m:
        report("reply.", m)
    else:
        out("reply.type", "none")
    return 0


def cmd_raw(a, link):
    if a.hex is not None:
        pkt = bytes.fromhex(a.hex)
    elif a.garbage:
        pkt = os.urandom(a.garbage)
    else:
        pkt = build_msg(a, 1)[:a.truncate]
    out("sent_len", len(pkt))
    got = []
    for _ in range(a.tries):
        link.send(pkt)
        # any BOOTREPLY to port 68 at all, whatever its xid
        for m in link.replies(time.monotonic() + a.wait):
            got.append(m)
            report("r%d." % m["n"], m)
    out("replies", len(got))
    return 0


def cmd_sniff(a, link):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out("listening", 1)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("1\n")
    end = time.monotonic() + a.wait
    seen = {}
    n = 0
    while not stop and time.monotonic() < end:
        for m in link.replies(min(end, time.monotonic() + 0.2), mac=a.mac):
            n += 1
            report("r%d." % m["n"], m)
            if m["type"] not in seen:
                seen[m["type"]] = m
                report(m["type"] + ".", m)
            if a.until and m["type"] == a.until:
                stop.append(1)
                break
    out("replies", n)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["discover", "dora", "request", "decline", "release",
                                    "inform", "raw", "sniff"])
    ap.add_argument("-i", "--iface", default="eth0")
    ap.add_argument("--mac", help="chaddr and Ethernet source (default: the interface's)")
    ap.add_argument("--xid", type=lambda s: int(s, 16), help="hex; default random")
    ap.add_argument("--secs", type=int, default=0)
    ap.add_argument("--hops", type=int, default=0)
    ap.add_argument("--bflag", action="store_true", help="set the BROADCAST flag")
    ap.add_argument("--giaddr", default="0.0.0.0")
    ap.add_argument("--client-id", help="option 61, hex")
    ap.add_argument("--hostname", help="option 12")
    ap.add_argument("--maxsize", type=int, help="option 57")
    ap.add_argument("--vendor-class", help="option 60")
    ap.add_argument("--user-class", help="option 77 (raw text, like iPXE sends it)")
    ap.add_argument("--arch", type=int, help="option 93")
    ap.add_argument("--ndi", action="store_true", help="option 94 (UNDI 3.0)")
    ap.add_argument("--uuid", help="option 97 (hex, type 0 is prepended)")
    ap.add_argument("--prl", help="option 55, comma-separated codes in order")
    ap.add_argument("--opt", action="append", help="CODE=HEX, any option (repeatable)")
    ap.add_argument("--relay-agent", help="option 82 contents, hex (sent last)")
    ap.add_argument("--ip", help="address for request/decline/release/inform")
    ap.add_argument("--req-ip", help="option 50 in a DISCOVER")
    ap.add_argument("--server-id", help="option 54")
    ap.add_argument("--select", help="discover/dora: take the OFFER of this server id")
    ap.add_argument("--state", default="init-reboot",
                    choices=["selecting", "init-reboot", "renewing", "rebinding"])
    ap.add_argument("--to", default="255.255.255.255:67", help="destination IP[:PORT]")
    ap.add_argument("--to-mac", help="Ethernet destination for a unicast raw frame")
    ap.add_argument("--src-ip", default="0.0.0.0", help="IP source of raw frames")
    ap.add_argument("--from", dest="frm", help="send from a UDP socket bound to IP[:PORT]")
    ap.add_argument("--tries", type=int, default=3)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--wait", type=float, default=2.0, help="seconds to wait for replies")
    ap.add_argument("--all", action="store_true", help="discover: collect every offer")
    ap.add_argument("--hex", help="raw: payload bytes")
    ap.add_argument("--garbage", type=int, help="raw: N random bytes")
    ap.add_argument("--truncate", type=int, default=100, help="raw: first N bytes of a DISCOVER")
    ap.add_argument("--kill-on-ack", type=int, metavar="PID",
                    help="SIGKILL this process the moment the first ACK arrives")
    ap.add_argument("--port", type=int, help="UDP port replies go to (default 68, or --from's)")
    ap.add_argument("--until", help="sniff: stop after a reply of this type")
    ap.add_argument("--ready", help="sniff: file written once capturing")
    a = ap.parse_args()
    if a.xid is None:
        a.xid = random.getrandbits(32)
    a.mac = (a.mac or mac_str(if_mac(a.iface))).lower()
    out("xid", "%08x" % a.xid)
    link = Link(a)
    cmds = {"discover": cmd_discover, "dora": cmd_dora, "request": cmd_request,
            "decline": cmd_decline, "release": cmd_release, "inform": cmd_inform,
            "raw": cmd_raw, "sniff": cmd_sniff}
    rc = cmds[a.cmd](a, link)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
