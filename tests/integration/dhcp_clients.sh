#!/bin/bash
# Real DHCP clients against pxed's DHCP server, each in its own namespace on the lab bridge:
# busybox udhcpc, ISC dhclient and dhcpcd each get their node's reserved address, host name,
# router, DNS, root path and (where the client shows them) boot file and next-server; the same
# fields are checked on the wire (the ACK each client received, captured beside it, also proves
# it was unicast to the client's MAC and new address). A client with an unknown MAC gets an
# address from the range. `pxed leases` then lists every binding with MAC, IP and host name.
. "$(dirname "$0")/dhcplib.sh"

need_cmd busybox busybox
need_cmd dhclient isc-dhcp-client
need_cmd dhcpcd dhcpcd-base
dhcp_need_netns

SNS="pxds$$"
MAC_U=52:54:00:00:00:21   # udhcpc: node n21
MAC_DH=52:54:00:00:00:22  # dhclient: node n22 (host name differs from the node name)
MAC_DC=52:54:00:00:00:23  # dhcpcd: node n23
MAC_DYN=52:54:00:00:00:77 # udhcpc: no node
MAC_DYN2=52:54:00:00:00:78 # dhcpcd: no node

dhcp_lab "$SNS" || { not_ok "lab namespace $SNS with br0 198.18.0.1/24"; finish; }
for c in u:$MAC_U dh:$MAC_DH dc:$MAC_DC dyn:$MAC_DYN dyn2:$MAC_DYN2; do
	dhcp_client "$SNS" "pxd${c%%:*}$$" "${c#*:}" ||
		{ not_ok "client namespace pxd${c%%:*}$$ on br0"; finish; }
done
ok "lab: server namespace with br0 198.18.0.1/24 and 5 client namespaces"

# shellcheck disable=SC2034 # read by lib.sh
PXED_NETNS=$SNS
start_pxed_dhcp -o dhcp.mode=server \
	-o subnet.lab.network=198.18.0.0/24 -o "subnet.lab.range=198.18.0.100 198.18.0.150" \
	-o subnet.lab.router=198.18.0.1 -o subnet.lab.dns=198.18.0.1 \
	-o dhcp.boot-bios=pxelinux.0 \
	-o node.n21.mac=$MAC_U -o node.n21.ip=198.18.0.21 \
	-o node.n21.root-path=198.18.0.1:/diskless/n21 \
	-o node.n22.mac=$MAC_DH -o node.n22.ip=198.18.0.22 -o node.n22.hostname=slave22 \
	-o node.n22.root-path=198.18.0.1:/diskless/198.18.0.22 \
	-o node.n23.mac=$MAC_DC -o node.n23.ip=198.18.0.23 \
	-o node.n23.root-path=198.18.0.1:/diskless/n23 ||
	{ not_ok "pxed starts a DHCP server on br0"; finish; }
ok "pxed starts a DHCP server on br0 (port 67)"

# check_var CLIENT FILE KEY EXPECTED: one field a client's script saw.
check_var() {
	local got
	got=$(kv "$2" "$3")
	check_eq "$1: $3 is $4" "$4" "$got"
}

# check_wire CLIENT SNIFF MAC IP: the ACK on the wire.
check_wire() {
	local c=$1 f=$2 mac=$3 ip=$4
	if [ "$(kv "$f" ACK.type)" != ACK ]; then
		not_ok "$c: its ACK was captured on the wire" "$(head -n 20 "$f")"
		return
	fi
	check_eq "$c: wire: ACK yiaddr" "$ip" "$(kv "$f" ACK.yiaddr)"
	check_eq "$c: wire: ACK siaddr (next-server)" 198.18.0.1 "$(kv "$f" ACK.siaddr)"
	check_eq "$c: wire: ACK file field" pxelinux.0 "$(kv "$f" ACK.file)"
	check_eq "$c: wire: ACK sent to the client's MAC (RFC 2131 4.1 unicast)" "$mac" \
		"$(kv "$f" ACK.eth_dst)"
	check_eq "$c: wire: ACK sent to the new address, port 68" "$ip:68" \
		"$(kv "$f" ACK.ip_dst):$(kv "$f" ACK.dport)"
	check_eq "$c: wire: ACK from 198.18.0.1:67" 198.18.0.1:67 \
		"$(kv "$f" ACK.ip_src):$(kv "$f" ACK.sport)"
}

# --- udhcpc (node n21) --------------------------------------------------------------------
t0=$(date +%s%N)
sniff_start "pxdu$$" $MAC_U "$T/u.wire" || not_ok "udhcpc: capture starts"
if run_udhcpc "pxdu$$" "$T/u.out"; then
	ok "udhcpc: obtains a lease ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	not_ok "udhcpc: obtains a lease" "$(cat "$T/u.out.log")"
fi
sniff_stop
check_var udhcpc "$T/u.out" ip 198.18.0.21
check_var udhcpc "$T/u.out" mask 255.255.255.0
check_var udhcpc "$T/u.out" hostname n21
check_var udhcpc "$T/u.out" router 198.18.0.1
check_var udhcpc "$T/u.out" dns 198.18.0.1
check_var udhcpc "$T/u.out" rootpath 198.18.0.1:/diskless/n21
check_var udhcpc "$T/u.out" bootfile pxelinux.0
check_var udhcpc "$T/u.out" siaddr 198.18.0.1
check_var udhcpc "$T/u.out" serverid 198.18.0.1
check_var udhcpc "$T/u.out" lease 3600
check_wire udhcpc "$T/u.wire" $MAC_U 198.18.0.21

# --- dhclient (node n22) -------------------------------------------------------------------
t0=$(date +%s%N)
sniff_start "pxddh$$" $MAC_DH "$T/dh.wire" || not_ok "dhclient: capture starts"
if run_dhclient "pxddh$$" "$T/dh.out"; then
	ok "dhclient: obtains a lease ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	not_ok "dhclient: obtains a lease" "$(tail -n 15 "$T/dh.out.log")"
fi
sniff_stop
check_var dhclient "$T/dh.out" ip 198.18.0.22
check_var dhclient "$T/dh.out" mask 255.255.255.0
check_var dhclient "$T/dh.out" hostname slave22
check_var dhclient "$T/dh.out" router 198.18.0.1
check_var dhclient "$T/dh.out" dns 198.18.0.1
check_var dhclient "$T/dh.out" rootpath 198.18.0.1:/diskless/198.18.0.22
check_var dhclient "$T/dh.out" bootfile pxelinux.0
check_var dhclient "$T/dh.out" serverid 198.18.0.1
# dhclient 4.4 passes siaddr as new_next_server; older ones do not (then the wire check stands).
if [ -n "$(kv "$T/dh.out" next_server)" ]; then
	check_var dhclient "$T/dh.out" next_server 198.18.0.1
fi
check_wire dhclient "$T/dh.wire" $MAC_DH 198.18.0.22

# --- dhcpcd (node n23) ---------------------------------------------------------------------
# dhcpcd shows neither siaddr nor the file field; it asks for options 66/67 (our config), which
# pxed sends only when asked: bootfile_name and tftp_server_name stand in for them.
t0=$(date +%s%N)
sniff_start "pxddc$$" $MAC_DC "$T/dc.wire" || not_ok "dhcpcd: capture starts"
if run_dhcpcd "pxddc$$" "$T/dc.out"; then
	ok "dhcpcd: obtains a lease ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	not_ok "dhcpcd: obtains a lease" "$(tail -n 15 "$T/dc.out.log")"
fi
sniff_stop
check_var dhcpcd "$T/dc.out" ip 198.18.0.23
check_var dhcpcd "$T/dc.out" mask 255.255.255.0
check_var dhcpcd "$T/dc.out" hostname n23
check_var dhcpcd "$T/dc.out" router 198.18.0.1
check_var dhcpcd "$T/dc.out" dns 198.18.0.1
check_var dhcpcd "$T/dc.out" rootpath 198.18.0.1:/diskless/n23
check_var dhcpcd "$T/dc.out" bootfile pxelinux.0
check_var dhcpcd "$T/dc.out" tftp_server 198.18.0.1
check_var dhcpcd "$T/dc.out" serverid 198.18.0.1
check_wire dhcpcd "$T/dc.wire" $MAC_DC 198.18.0.23
check_eq "dhcpcd: wire: options 66 and 67 sent because it asked for them" \
	"pxelinux.0 198.18.0.1" "$(kv "$T/dc.wire" ACK.bootfile_opt) $(kv "$T/dc.wire" ACK.tftp_server)"
check_eq "dhcpcd: added no default route in its namespace" "" \
	"$(ip -n "pxddc$$" route show default)"

# --- dynamic clients (unknown MACs) ---------------------------------------------------------
in_range() { # in_range IP: 198.18.0.100 .. 198.18.0.150
	case "$1" in 198.18.0.*) ;; *) return 1 ;; esac
	local last=${1##*.}
	[ "$last" -ge 100 ] && [ "$last" -le 150 ]
}
if run_udhcpc "pxddyn$$" "$T/dyn.out" -x hostname:dynhost; then
	ok "udhcpc (unknown MAC): obtains a lease"
else
	not_ok "udhcpc (unknown MAC): obtains a lease" "$(cat "$T/dyn.out.log")"
fi
DYN_IP=$(kv "$T/dyn.out" ip)
check "udhcpc (unknown MAC): address $DYN_IP is from the range 198.18.0.100-150" in_range "$DYN_IP"
check_eq "udhcpc (unknown MAC): no host name or root path of a node" "/" \
	"$(kv "$T/dyn.out" hostname)/$(kv "$T/dyn.out" rootpath)"
check_var "udhcpc (unknown MAC)" "$T/dyn.out" router 198.18.0.1
if run_dhcpcd "pxddyn2$$" "$T/dyn2.out"; then
	ok "dhcpcd (unknown MAC): obtains a lease"
else
	not_ok "dhcpcd (unknown MAC): obtains a lease" "$(tail -n 15 "$T/dyn2.out.log")"
fi
DYN2_IP=$(kv "$T/dyn2.out" ip)
check "dhcpcd (unknown MAC): address $DYN2_IP is from the range" in_range "$DYN2_IP"
if [ "$DYN_IP" != "$DYN2_IP" ]; then ok "the two dynamic clients got different addresses"
else not_ok "the two dynamic clients got different addresses" "both got $DYN_IP"; fi

# --- the lease store -----------------------------------------------------------------------
leases_list >"$T/leases" || not_ok "pxed leases runs" "$(cat "$T/leases.err")"
note "pxed leases: $(tr '\n' ';' <"$T/leases")"
check_lease() { # check_lease MAC IP HOSTNAME
	if grep -qxF "$1 $2 bound $3" "$T/leases"; then ok "pxed leases: $1 $2 bound, host name $3"
	else not_ok "pxed leases: $1 $2 bound, host name $3" "$(cat "$T/leases")"; fi
}
check_lease $MAC_U 198.18.0.21 n21
check_lease $MAC_DH 198.18.0.22 slave22
check_lease $MAC_DC 198.18.0.23 n23
check_lease $MAC_DYN "$DYN_IP" dynhost
if grep -q "^$MAC_DYN2 $DYN2_IP bound " "$T/leases"; then ok "pxed leases: $MAC_DYN2 $DYN2_IP bound"
else not_ok "pxed leases: $MAC_DYN2 $DYN2_IP bound" "$(cat "$T/leases")"; fi
check_eq "pxed leases: exactly 5 bound leases" 5 "$(wc -l <"$T/leases")"
# The table form too (what an admin reads).
"$PXED" leases -o server.state-dir="$DHCP_STATE" >"$T/leases.txt" 2>&1
if grep -qE "^$MAC_DH +198\.18\.0\.22 +bound +slave22 .* n22 " "$T/leases.txt"; then
	ok "pxed leases (table): the n22 line has MAC, IP, state, host name, node"
else
	not_ok "pxed leases (table): the n22 line has MAC, IP, state, host name, node" \
		"$(cat "$T/leases.txt")"
fi

# --- the log -------------------------------------------------------------------------------
for n in n21:198.18.0.21 n22:198.18.0.22 n23:198.18.0.23; do
	if log_wait "REQUEST .*node=${n%%:*} -> ACK ${n#*:} file=pxelinux\.0 \(selecting\)" 1 >/dev/null; then
		ok "log: ACK line for node ${n%%:*} with address, file and reason"
	else
		not_ok "log: ACK line for node ${n%%:*} with address, file and reason" \
			"$(grep -a "node=${n%%:*}" "$PXED_LOG" | head -n 5)"
	fi
done

rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
