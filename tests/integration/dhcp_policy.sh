#!/bin/bash
# pxed's DHCP server policy (RFC 2131 §4.3) against the raw python client (dhcpc.py) and real
# clients, on two lab networks: br0 (198.18.0.0/24, range of only 3 addresses so that pool
# exhaustion, RELEASE and DECLINE are observable) and br1 (198.18.2.0/24, unknown-clients =
# deny). Checks: parameter request list order; INIT-REBOOT (ACK for the own address, NAK for a
# wrong network and for another client's address, broadcast); RENEWING unicast and REBINDING;
# the broadcast flag; a relay agent (giaddr, option 82 echoed, reply to giaddr:67); RELEASE
# (udhcpc -R) frees the address; DECLINE (udhcpc -a finding the address in use) quarantines
# it; unknown clients refused on the deny network while a node still works; malformed packets
# get no reply and the server keeps answering.
. "$(dirname "$0")/dhcplib.sh"

need_cmd busybox busybox
dhcp_need_netns

SNS="pxds$$"
PC="pxdpc$$"   # raw python client (impersonates several MACs)
REN="pxdren$$" # node n25 (renewing, with an address configured)
REL="pxdrel$$" # relay agent 198.18.0.250
UA="pxdua$$"   # udhcpc A (dynamic)
UD="pxdud$$"   # udhcpc D (dynamic, ARP check)
SQ="pxdsq$$"   # squatter holding 198.18.0.100 without a lease
DN="pxddn$$"   # udhcpc on the deny network (unknown MAC)
DK="pxddk$$"   # udhcpc on the deny network (node n31)

MAC_PC=52:54:00:00:01:01
MAC_21=52:54:00:00:00:21
MAC_25=52:54:00:00:00:25
MAC_26=52:54:00:00:00:26
MAC_31=52:54:00:00:00:31
MAC_50=52:54:00:00:00:50 # node with a long root path and a big custom option
MAC_A=52:54:00:00:0a:0a
MAC_B=52:54:00:00:0b:0b
MAC_C=52:54:00:00:0c:0c
MAC_D=52:54:00:00:0d:0d
MAC_E=52:54:00:00:0e:0e
MAC_X=52:54:00:00:99:99

{
	dhcp_lab "$SNS" &&
		ip -n "$SNS" link add br1 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$SNS" addr add 198.18.2.1/24 dev br1 && ip -n "$SNS" link set br1 up &&
		dhcp_client "$SNS" "$PC" $MAC_PC &&
		dhcp_client "$SNS" "$REN" $MAC_25 &&
		dhcp_client "$SNS" "$REL" 52:54:00:00:02:50 198.18.0.250/24 &&
		dhcp_client "$SNS" "$UA" $MAC_A &&
		dhcp_client "$SNS" "$UD" $MAC_D &&
		dhcp_client "$SNS" "$SQ" 52:54:00:00:05:05 &&
		dhcp_client "$SNS" "$DN" $MAC_X &&
		dhcp_client "$SNS" "$DK" $MAC_31 &&
		ip -n "$SNS" link set vc7 nomaster && ip -n "$SNS" link set vc7 master br1 &&
		ip -n "$SNS" link set vc8 nomaster && ip -n "$SNS" link set vc8 master br1
} || { not_ok "lab: br0, br1 and 8 client namespaces"; finish; }
ok "lab: br0 198.18.0.1/24, br1 198.18.2.1/24, 8 client namespaces"

# shellcheck disable=SC2034 # read by lib.sh
LONG_RP=198.18.0.1:/diskless/$(printf 'r%.0s' $(seq 1 220)) # option 17 of 241 bytes
BIG_224=$(printf 'v%.0s' $(seq 1 200))                      # option 224 of 200 bytes
PXED_NETNS=$SNS
start_pxed_dhcp -o dhcp.mode=server -o "dhcp.interfaces=br0 br1" \
	-o subnet.lab.network=198.18.0.0/24 -o "subnet.lab.range=198.18.0.100 198.18.0.102" \
	-o subnet.lab.router=198.18.0.1 -o subnet.lab.dns=198.18.0.1 \
	-o subnet.closed.network=198.18.2.0/24 -o "subnet.closed.range=198.18.2.100 198.18.2.150" \
	-o subnet.closed.router=198.18.2.1 -o subnet.closed.unknown-clients=deny \
	-o dhcp.boot-bios=pxelinux.0 \
	-o node.n21.mac=$MAC_21 -o node.n21.ip=198.18.0.21 -o node.n21.root-path=198.18.0.1:/n21 \
	-o node.n25.mac=$MAC_25 -o node.n25.ip=198.18.0.25 \
	-o node.n26.mac=$MAC_26 -o node.n26.ip=198.18.0.26 \
	-o node.n31.mac=$MAC_31 -o node.n31.ip=198.18.2.31 \
	-o node.n50.mac=$MAC_50 -o node.n50.ip=198.18.0.50 -o "node.n50.root-path=$LONG_RP" \
	-o "node.n50.option=224 text $BIG_224" ||
	{ not_ok "pxed starts a DHCP server on br0 and br1"; finish; }
ok "pxed starts a DHCP server on br0 and br1"

# pc ARGS...: the python client in $PC; output in $T/pc.out (also returned on stdout's file).
pc() { dhcpc "$PC" "$@" >"$T/pc.out" 2>&1; }
# no_reply DESC ARGS...: the python client gets no reply at all (one try, 1 s).
no_reply() {
	local desc=$1
	shift
	pc "$@" --tries 1 --wait 1
	if [ "$(kv "$T/pc.out" replies)" = 0 ]; then ok "$desc"
	else not_ok "$desc" "$(grep -E '^r1\.(type|yiaddr|message)=|Error|error' "$T/pc.out")"; fi
}

# --- parameter request list order (RFC 2131 §4.3.1) ----------------------------------------
pc discover --mac $MAC_21 --prl 17,12,6,3,1,51,28
check_eq "PRL 17,12,6,3,1,51,28: options follow in that order after 53 and 54" \
	"53,54,17,12,6,3,1,51,28" "$(kv "$T/pc.out" offer.opts | cut -d, -f1-9)"
pc discover --mac $MAC_21 --prl 28,51,1,3,6,12,17
check_eq "PRL reversed: the options follow in the reversed order" \
	"53,54,28,51,1,3,6,12,17" "$(kv "$T/pc.out" offer.opts | cut -d, -f1-9)"
check_eq "options not asked for (58, 59) come after the requested ones" "58,59" \
	"$(kv "$T/pc.out" offer.opts | cut -d, -f10- | tr ',' '\n' | grep -xE '58|59' | paste -sd,)"
pc discover --mac $MAC_21 --prl 1,3
if kv "$T/pc.out" offer.opts | grep -qE '(^|,)67(,|$)'; then
	not_ok "option 67 is only sent when asked for" "$(kv "$T/pc.out" offer.opts)"
else ok "option 67 is only sent when asked for"; fi
pc discover --mac $MAC_21 --prl 1,3,67,66
check_eq "asked for 67 and 66: both sent (pxelinux.0, 198.18.0.1)" "pxelinux.0 198.18.0.1" \
	"$(kv "$T/pc.out" offer.bootfile_opt) $(kv "$T/pc.out" offer.tftp_server)"

# --- maximum message size (option 57; 576 without it, RFC 2131 §2) ----------------------------
pc dora --mac $MAC_50 --prl 1,3,6,12,17,224
len=$(kv "$T/pc.out" ack.len)
if [ -n "$len" ] && [ "$len" -le 548 ]; then ok "no option 57: the ACK fits 576 bytes with IP/UDP ($len bytes)"
else not_ok "no option 57: the ACK fits 576 bytes with IP/UDP" "len=$len"; fi
check_eq "  the long root path (241 bytes) arrives intact" "$LONG_RP" "$(kv "$T/pc.out" ack.rootpath)"
pc dora --mac $MAC_50 --prl 1,3,6,12,17,224 --maxsize 1500
check_eq "option 57 = 1500: the 200-byte option 224 fits and arrives intact" \
	"$(printf '%s' "$BIG_224" | od -An -v -tx1 | tr -d ' \n')" "$(kv "$T/pc.out" ack.opt.224)"
check_eq "  and so does the root path" "$LONG_RP" "$(kv "$T/pc.out" ack.rootpath)"

# --- broadcast flag ------------------------------------------------------------------------
pc discover --mac $MAC_21 --bflag
check_eq "broadcast flag set: OFFER broadcast (ff:ff:ff:ff:ff:ff, 255.255.255.255)" \
	"ff:ff:ff:ff:ff:ff 255.255.255.255" "$(kv "$T/pc.out" offer.eth_dst) $(kv "$T/pc.out" offer.ip_dst)"
pc discover --mac $MAC_21
check_eq "broadcast flag clear: OFFER unicast to chaddr and yiaddr" \
	"$MAC_21 198.18.0.21" "$(kv "$T/pc.out" offer.eth_dst) $(kv "$T/pc.out" offer.ip_dst)"

# --- INIT-REBOOT ---------------------------------------------------------------------------
pc request --state init-reboot --mac $MAC_X --ip 198.19.5.5
check_eq "INIT-REBOOT for an address of another network: NAK" NAK "$(kv "$T/pc.out" reply.type)"
check_eq "  the NAK says why" "address not on this network" "$(kv "$T/pc.out" reply.message)"
check_eq "  the NAK is broadcast (RFC 2131 4.1)" "ff:ff:ff:ff:ff:ff 255.255.255.255" \
	"$(kv "$T/pc.out" reply.eth_dst) $(kv "$T/pc.out" reply.ip_dst)"
check_eq "  the NAK has yiaddr 0" 0.0.0.0 "$(kv "$T/pc.out" reply.yiaddr)"
pc request --state init-reboot --mac $MAC_X --ip 198.18.0.21
check_eq "INIT-REBOOT for another node's fixed address: NAK" \
	"NAK address not available to this client" \
	"$(kv "$T/pc.out" reply.type) $(kv "$T/pc.out" reply.message)"
pc request --state init-reboot --mac $MAC_21 --ip 198.18.0.21 --prl 1,3,12,17
check_eq "INIT-REBOOT of a node for its own address: ACK with host name and root path" \
	"ACK 198.18.0.21 n21 198.18.0.1:/n21" \
	"$(kv "$T/pc.out" reply.type) $(kv "$T/pc.out" reply.yiaddr) $(kv "$T/pc.out" reply.hostname) $(kv "$T/pc.out" reply.rootpath)"
if log_wait "dhcp $MAC_X REQUEST .*-> NAK - \(address not on this network\)" 2 >/dev/null; then
	ok "log: the NAK line names the reason"
else not_ok "log: the NAK line names the reason" "$(grep -a NAK "$PXED_LOG" | head -n 3)"; fi

# --- RENEWING (unicast from the client's address) and REBINDING ------------------------------
dhcpc "$REN" dora >"$T/ren.out" 2>&1
check_eq "n25: DORA gets 198.18.0.25" "ACK 198.18.0.25" \
	"$(kv "$T/ren.out" ack.type) $(kv "$T/ren.out" ack.yiaddr)"
ip -n "$REN" addr add 198.18.0.25/24 dev eth0
dhcpc "$REN" request --state renewing --ip 198.18.0.25 --from 198.18.0.25:68 \
	--to 198.18.0.1:67 >"$T/ren.out" 2>&1
check_eq "RENEWING: unicast REQUEST with ciaddr gets an ACK for the same address" \
	"ACK 198.18.0.25" "$(kv "$T/ren.out" reply.type) $(kv "$T/ren.out" reply.yiaddr)"
check_eq "  the ACK goes to ciaddr:68 (unicast, the client's MAC)" "198.18.0.25:68 $MAC_25" \
	"$(kv "$T/ren.out" reply.ip_dst):$(kv "$T/ren.out" reply.dport) $(kv "$T/ren.out" reply.eth_dst)"
check_eq "  and carries the full lease time" 3600 "$(kv "$T/ren.out" reply.lease)"
dhcpc "$REN" request --state rebinding --ip 198.18.0.25 --from 198.18.0.25:68 \
	>"$T/ren.out" 2>&1
check_eq "REBINDING: broadcast REQUEST with ciaddr gets an ACK sent to ciaddr" \
	"ACK 198.18.0.25" "$(kv "$T/ren.out" reply.type) $(kv "$T/ren.out" reply.ip_dst)"
dhcpc "$REN" inform --ip 198.18.0.25 --from 198.18.0.25:68 --to 198.18.0.1:67 \
	--prl 1,3,6 >"$T/inf.out" 2>&1
lease=$(kv "$T/inf.out" reply.lease)
check_eq "INFORM: ACK with the router, no address, no lease time, unicast to ciaddr" \
	"ACK 0.0.0.0 198.18.0.25 198.18.0.1 -" \
	"$(kv "$T/inf.out" reply.type) $(kv "$T/inf.out" reply.yiaddr) $(kv "$T/inf.out" reply.ip_dst) $(kv "$T/inf.out" reply.router) ${lease:--}"
if log_wait "dhcp $MAC_25 REQUEST .*-> ACK 198\.18\.0\.25 .*\(renewing\)" 2 >/dev/null; then
	ok "log: the renewal is logged as renewing"
else not_ok "log: the renewal is logged as renewing" "$(grep -a "$MAC_25" "$PXED_LOG")"; fi

# --- relay agent: giaddr, option 82, reply to giaddr:67 -------------------------------------
O82=010a6574683a766c616e3130020631323334353600 # circuit-id "eth:vlan10", remote-id "123456"+pad
dhcpc "$REL" dora --mac $MAC_26 --from 198.18.0.250:67 --to 198.18.0.1:67 \
	--giaddr 198.18.0.250 --hops 1 --relay-agent $O82 >"$T/rel.out" 2>&1
check_eq "relayed DISCOVER: OFFER of the node's address" "OFFER 198.18.0.26" \
	"$(kv "$T/rel.out" offer.type) $(kv "$T/rel.out" offer.yiaddr)"
check_eq "  sent to the relay, giaddr:67 (RFC 2131 4.1)" "198.18.0.250:67" \
	"$(kv "$T/rel.out" offer.ip_dst):$(kv "$T/rel.out" offer.dport)"
check_eq "  with giaddr kept" 198.18.0.250 "$(kv "$T/rel.out" offer.giaddr)"
check_eq "  option 82 echoed byte for byte (RFC 3046 2.2)" $O82 "$(kv "$T/rel.out" offer.opt.82)"
check_eq "  option 82 is the last option" 82 "$(kv "$T/rel.out" offer.opts | tr ',' '\n' | tail -n 1)"
check_eq "relayed REQUEST: ACK to giaddr:67 with option 82" "ACK 198.18.0.250:67 $O82" \
	"$(kv "$T/rel.out" ack.type) $(kv "$T/rel.out" ack.ip_dst):$(kv "$T/rel.out" ack.dport) $(kv "$T/rel.out" ack.opt.82)"
dhcpc "$REL" discover --mac $MAC_26 --from 198.18.0.250:67 --to 198.18.0.1:67 \
	--giaddr 198.18.0.250 >"$T/rel.out" 2>&1
if kv "$T/rel.out" offer.opts | grep -qE '(^|,)82(,|$)'; then
	not_ok "no option 82 in the request: none in the reply" "$(kv "$T/rel.out" offer.opts)"
else ok "no option 82 in the request: none in the reply"; fi

# --- pool: exhaustion, RELEASE, DECLINE ------------------------------------------------------
# Range 198.18.0.100-102. A (udhcpc) takes one, B and C (python) the others.
run_udhcpc "$UA" "$T/a.out" || not_ok "udhcpc A gets a lease" "$(cat "$T/a.out.log")"
IP_A=$(kv "$T/a.out" ip)
check_eq "udhcpc A gets the first address of the range" 198.18.0.100 "$IP_A"
pc dora --mac $MAC_B
IP_B=$(kv "$T/pc.out" ack.yiaddr)
check_eq "B gets the second address" "ACK 198.18.0.101" "$(kv "$T/pc.out" ack.type) $IP_B"
pc dora --mac $MAC_C
IP_C=$(kv "$T/pc.out" ack.yiaddr)
check_eq "C gets the third address" "ACK 198.18.0.102" "$(kv "$T/pc.out" ack.type) $IP_C"
no_reply "pool exhausted: a fourth client (E) gets no OFFER" discover --mac $MAC_E
if log_wait "warning: dhcp $MAC_E DISCOVER .*dropped - \(no free address in the ranges\)" 2 >/dev/null; then
	ok "log: exhaustion logged as a warning"
else not_ok "log: exhaustion logged as a warning" "$(grep -a "$MAC_E" "$PXED_LOG")"; fi

# RELEASE by a real client: udhcpc A runs again (configuring its address), gets the same
# address back, and releases it on SIGUSR2 (unicast from its address).
udhcpc_start "$UA" "$T/a2.out" || not_ok "udhcpc A (running) gets a lease" "$(cat "$T/a2.out.log")"
check_eq "udhcpc A asks again: the same address (its binding)" "$IP_A" "$(kv "$T/a2.out" ip)"
if udhcpc_release "$T/a2.out" && grep -q "unicasting a release of $IP_A" "$T/a2.out.log"; then
	ok "udhcpc A sends a RELEASE of $IP_A on SIGUSR2"
else not_ok "udhcpc A sends a RELEASE of $IP_A on SIGUSR2" "$(cat "$T/a2.out.log")"; fi
kill_pid "$UDHCPC_PID"
if log_wait "dhcp $MAC_A RELEASE .*no reply $IP_A \(released\)" 3 >/dev/null; then
	ok "log: RELEASE of $IP_A"
else not_ok "log: RELEASE of $IP_A" "$(grep -a "$MAC_A" "$PXED_LOG")"; fi
leases_list --all >"$T/leases"
if grep -qx "$MAC_A $IP_A released .*" "$T/leases"; then ok "pxed leases --all: $IP_A released"
else not_ok "pxed leases --all: $IP_A released" "$(cat "$T/leases")"; fi
if leases_list | grep -q "^$MAC_A "; then not_ok "pxed leases (bound only) no longer lists A"
else ok "pxed leases (bound only) no longer lists A"; fi

# DECLINE by a real client: a squatter answers ARP for the released address; udhcpc -a (D)
# is offered it, finds it in use and declines it.
ip -n "$SQ" addr add "$IP_A/24" dev eth0
run_udhcpc "$UD" "$T/d.out" -a 500 -t 2 -T 1
if grep -qi decline "$T/d.out.log"; then ok "udhcpc D -a finds $IP_A in use and sends a DECLINE"
else not_ok "udhcpc D -a finds $IP_A in use and sends a DECLINE" "$(cat "$T/d.out.log")"; fi
if log_wait "dhcp $MAC_D REQUEST .*-> ACK $IP_A " 1 >/dev/null; then
	ok "the released address went to the next new client (D got an ACK for $IP_A)"
else not_ok "the released address went to the next new client (D got an ACK for $IP_A)" \
	"$(grep -a "$MAC_D" "$PXED_LOG")"; fi
check_eq "udhcpc D then gets no address (the pool is used up)" "" "$(kv "$T/d.out" ip)"
if log_wait "dhcp $MAC_D DECLINE .*\(address declined: quarantined\)" 3 >/dev/null; then
	ok "log: DECLINE quarantines $IP_A"
else not_ok "log: DECLINE quarantines $IP_A" "$(grep -a "$MAC_D" "$PXED_LOG")"; fi
leases_list --all >"$T/leases"
if grep -qE "^[0-9a-f:]+ $IP_A declined " "$T/leases"; then ok "pxed leases --all: $IP_A declined"
else not_ok "pxed leases --all: $IP_A declined" "$(cat "$T/leases")"; fi
ip -n "$SQ" addr del "$IP_A/24" dev eth0
no_reply "the declined address is not offered: E still gets no OFFER" discover --mac $MAC_E
no_reply "not even when E asks for it (option 50)" discover --mac $MAC_E --req-ip "$IP_A"
# B releases (python, unicast from its address): E gets B's address, never the declined one.
ip -n "$PC" addr add "$IP_B/24" dev eth0
pc release --mac $MAC_B --ip "$IP_B" --server-id 198.18.0.1 --from "$IP_B:68" \
	--to 198.18.0.1:67 --tries 1 --wait 0.5
ip -n "$PC" addr del "$IP_B/24" dev eth0
check_eq "RELEASE gets no reply" 0 "$(kv "$T/pc.out" replies)"
pc dora --mac $MAC_E
check_eq "after B's RELEASE, E gets B's address (not the declined one)" "ACK $IP_B" \
	"$(kv "$T/pc.out" ack.type) $(kv "$T/pc.out" ack.yiaddr)"

# --- unknown-clients = deny (br1) ----------------------------------------------------------
# Python client on br1: move its veth.
ip -n "$SNS" link set vc1 nomaster && ip -n "$SNS" link set vc1 master br1
no_reply "deny network: unknown client's DISCOVER gets no reply" discover --mac $MAC_X
if log_wait "dhcp $MAC_X DISCOVER node=- -> dropped - \(unknown client \(unknown-clients = deny\)\)" 2 >/dev/null; then
	ok "log: the unknown client is dropped with its reason"
else not_ok "log: the unknown client is dropped with its reason" "$(grep -a "$MAC_X" "$PXED_LOG")"; fi
no_reply "deny network: unknown client's INIT-REBOOT REQUEST gets no reply" \
	request --state init-reboot --mac $MAC_X --ip 198.18.2.120
pc dora --mac $MAC_31
check_eq "deny network: node n31 (python) gets its address and the subnet's router" \
	"ACK 198.18.2.31 198.18.2.1" \
	"$(kv "$T/pc.out" ack.type) $(kv "$T/pc.out" ack.yiaddr) $(kv "$T/pc.out" ack.router)"
run_udhcpc "$DN" "$T/dn.out" -t 2 -T 1
check_eq "deny network: udhcpc with an unknown MAC gets no lease" "" "$(kv "$T/dn.out" ip)"
run_udhcpc "$DK" "$T/dk.out" || not_ok "udhcpc n31 gets a lease" "$(cat "$T/dk.out.log")"
check_eq "deny network: udhcpc with node n31's MAC gets 198.18.2.31, host name n31" \
	"198.18.2.31 n31" "$(kv "$T/dk.out" ip) $(kv "$T/dk.out" hostname)"
ip -n "$SNS" link set vc1 nomaster && ip -n "$SNS" link set vc1 master br0

# --- malformed packets ---------------------------------------------------------------------
no_reply "truncated DISCOVER (100 bytes): no reply" raw --truncate 100
no_reply "truncated DISCOVER (239 bytes, no magic cookie end): no reply" raw --truncate 239
no_reply "300 random bytes: no reply" raw --garbage 300
# A valid header with an option whose length runs past the end of the packet.
HDR=$(python3 -c "
import struct
h = struct.pack('!BBBBIHH', 1, 1, 6, 0, 0x11223344, 0, 0) + bytes(16) + bytes.fromhex('$MAC_21'.replace(':', '')) + bytes(10 + 64 + 128)
print((h + bytes.fromhex('63825363') + bytes([53, 1, 1, 55, 200, 1, 3])).hex())")
no_reply "option length past the end of the packet: no reply" raw --hex "$HDR"
REPLY_OP=$(python3 -c "print(('02' + '$HDR'[2:]))")
no_reply "a BOOTREPLY sent to port 67: no reply" raw --hex "$REPLY_OP"
no_reply "a one-byte datagram: no reply" raw --hex 01
if log_wait "dropped .*\(malformed message\)" 2 >/dev/null; then ok "log: malformed messages are dropped (debug)"
else not_ok "log: malformed messages are dropped (debug)" "$(tail -n 5 "$PXED_LOG")"; fi
pc dora --mac $MAC_21
check_eq "after the malformed packets pxed still answers (DORA for n21)" "ACK 198.18.0.21" \
	"$(kv "$T/pc.out" ack.type) $(kv "$T/pc.out" ack.yiaddr)"
check "pxed is still running" alive "$PXED_PID"

rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
