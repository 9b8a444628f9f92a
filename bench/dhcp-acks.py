#!/usr/bin/env python3
"""dhcp-acks.py - record every DHCPACK that reaches an interface, as seen by the client.

    dhcp-acks.py IFNAME OUTFILE

Opens a packet socket on IFNAME (run it inside the client's network namespace, as root) and
writes one line per incoming DHCPACK:

    ack CHADDR YIADDR XID

(CHADDR as aa:bb:cc:dd:ee:ff, YIADDR dotted quad, XID hex). The first line is "# ready IFNAME"
once the socket is bound, so a caller can wait for it. Every line is flushed as it is written,
so a reader sees an ACK as soon as it was captured. Replies relayed to a giaddr (UDP port 67)
and replies sent to a client directly (port 68) both count; packets this host sends are ignored.
SIGTERM or SIGINT ends it with status 0 after a summary line "# acks N other M".

Used by tests/integration/dhcp_crash.sh: an ACK counts as "seen by a client" only when it was
captured here, on the client side of the link.
"""
import os
import signal
import socket
import struct
import sys

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
DHCP_MAGIC = b"\x63\x82\x53\x63"
DHCPACK = 5

running = True


def stop(_sig, _frm):
    global running
    running = False


def message_type(opts):
    """Option 53 from the options field (walks pads and lengths; None when absent)."""
    i = 0
    while i < len(opts):
        code = opts[i]
        if code == 0:
            i += 1
            continue
        if code == 255 or i + 1 >= len(opts):
            return None
        ln = opts[i + 1]
        if code == 53 and ln == 1 and i + 2 < len(opts):
            return opts[i + 2]
        i += 2 + ln
    return None


def parse_ack(pkt):
    """(chaddr, yiaddr, xid) of a DHCPACK in an IPv4 packet, else None."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 17:
        return None
    ihl = (pkt[0] & 0x0F) * 4
    udp = pkt[ihl:]
    if len(udp) < 8:
        return None
    dport = struct.unpack_from("!H", udp, 2)[0]
    if dport not in (67, 68):
        return None
    b = udp[8:]
    if len(b) < 240 or b[0] != 2 or b[236:240] != DHCP_MAGIC:
        return None
    if message_type(b[240:]) != DHCPACK:
        return None
    hlen = min(b[2], 16)
    xid = struct.unpack_from("!I", b, 4)[0]
    yiaddr = socket.inet_ntoa(b[16:20])
    chaddr = ":".join("%02x" % c for c in b[28:28 + hlen])
    return chaddr, yiaddr, xid


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    ifname, outfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind((ifname, ETH_P_IP))
    s.settimeout(0.2)
    acks = other = 0
    with open(outfile, "w", buffering=1) as out:
        out.write("# ready %s\n" % ifname)
        while running:
            try:
                pkt, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            r = parse_ack(pkt)
            if r is None:
                other += 1
                continue
            acks += 1
            out.write("ack %s %s %08x\n" % r)
        out.write("# acks %d other %d\n" % (acks, other))
    return 0


if __name__ == "__main__":
    sys.exit(main())
