# shellcheck shell=bash
# Helpers for the DHCP integration tests (dhcp_*.sh), on top of lib.sh. Source it instead of
# lib.sh:
#
#   . "$(dirname "$0")/dhcplib.sh"
#
# The lab: a server namespace $SNS whose bridge br0 holds 198.18.0.1/24 (pxed listens there),
# and client namespaces, each joined to br0 by a veth pair whose client end is eth0 with a MAC
# of our choosing and no address. IPv6 is off everywhere (no RS/DAD noise), there is no default
# route, nothing leaves the namespaces. Everything is torn down by lib.sh's EXIT trap (the
# namespaces are registered in CLEANUP_NETNS, processes in CLEANUP_PIDS).
#
# Gives: need_cmd, dhcp_need_netns, dhcp_lab, dhcp_client, dhcp_link_up, start_pxed_dhcp,
# dhcpc (the raw python client, see dhcpc.py), rkv (a reply field by server id), leases_list
# (pxed leases as "mac ip state hostname" lines), sniff_start/sniff_stop (capture the replies a
# real client receives), and the real clients: run_udhcpc, udhcpc_start/udhcpc_release,
# run_dhclient, run_dhcpcd. None of them touches the host's files: scripts, configs, lease and
# pid files live in $T; dhcpcd runs in a private mount namespace.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# run.sh runs every *.sh here: this file is a library, not a test.
	echo "# SKIP dhcplib: helper library for the dhcp_*.sh tests, not a test"
	exit 77
fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PXED_LOG_LEVEL=debug
DHCP_STATE="$T/state"
DHCP_NEXT_VETH=0

# need_cmd CMD PACKAGE: a missing client program fails the test (it is a test dependency).
need_cmd() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "# $1 is not installed (apt-get install $2)"
		not_ok "$1 is installed (Debian package $2)"
		finish
	fi
}

# dhcp_need_netns: skip the whole test when namespaces cannot be created here.
dhcp_need_netns() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
	if ! ip netns add "pxdprobe$$" 2>/dev/null; then
		skip_all "network namespaces are not available"
	fi
	ip netns del "pxdprobe$$"
}

# _ns_quiet NS: lo up, IPv6 off.
_ns_quiet() {
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	return 0
}

# dhcp_link_up NS IF: wait (max 5 s) until IF in NS has carrier.
dhcp_link_up() {
	local i
	for i in $(seq 1 50); do
		ip -n "$1" link show "$2" 2>/dev/null | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	return 1
}

# dhcp_lab NS [ADDR/LEN]: the server namespace with bridge br0 holding ADDR (198.18.0.1/24).
dhcp_lab() {
	local ns=$1 addr=${2:-198.18.0.1/24}
	ip netns add "$ns" || return 1
	CLEANUP_NETNS+=("$ns")
	_ns_quiet "$ns"
	ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$ns" addr add "$addr" dev br0 &&
		ip -n "$ns" link set br0 up
}

# dhcp_client SNS CNS MAC [ADDR/LEN]: a new client namespace CNS whose eth0 (MAC, optional
# address) is a veth to br0 in SNS. Waits for the link.
dhcp_client() {
	local sns=$1 cns=$2 mac=$3 addr=${4:-} v
	DHCP_NEXT_VETH=$((DHCP_NEXT_VETH + 1))
	v="vc$DHCP_NEXT_VETH"
	ip netns add "$cns" || return 1
	CLEANUP_NETNS+=("$cns")
	_ns_quiet "$cns"
	ip -n "$sns" link add "$v" type veth peer name eth0 netns "$cns" &&
		ip -n "$cns" link set eth0 address "$mac" &&
		ip -n "$sns" link set "$v" master br0 &&
		ip -n "$sns" link set "$v" up &&
		ip -n "$cns" link set eth0 up || return 1
	if [ -n "$addr" ]; then
		ip -n "$cns" addr add "$addr" dev eth0 || return 1
	fi
	dhcp_link_up "$cns" eth0 && dhcp_link_up "$sns" "$v"
}

# start_pxed_dhcp [extra -o args...]: pxed in $PXED_NETNS (set it) with DHCP on br0, TFTP off,
# leases in $DHCP_STATE, debug log. Waits until port 67 is bound. Sets PXED_PID, PXED_LOG.
start_pxed_dhcp() {
	mkdir -p "$DHCP_STATE"
	_start_server 67 serve -o server.state-dir="$DHCP_STATE" -o tftp.enabled=no \
		-o dhcp.interfaces=br0 -o server.log-level="$PXED_LOG_LEVEL" "$@" || return 1
	# Port 4011 is bound right after 67; make sure the daemon got through its start-up.
	log_wait 'dhcp: (DHCP server|proxyDHCP) on port' 5 >/dev/null
}

# dhcpc NS ARGS...: the raw python client (dhcpc.py) in namespace NS.
dhcpc() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout 60 python3 "$INTEG_DIR/dhcpc.py" "$@"
}

# rkv FILE SERVER_ID KEY: KEY of the first reply (rN.*) in a dhcpc output that came from the
# server with that identifier (option 54).
rkv() {
	local n
	n=$(sed -n "s/^r\([0-9]*\)\.server_id=$2\$/\1/p" "$1" | head -n 1)
	[ -n "$n" ] || return 1
	kv "$1" "r$n.$3"
}

# leases_list [--all]: "mac ip state hostname" per lease in $DHCP_STATE (pxed leases --json).
leases_list() {
	"$PXED" leases --json -o server.state-dir="$DHCP_STATE" "$@" 2>"$T/leases.err" |
		python3 -c '
import json, sys
for l in json.load(sys.stdin):
    print(l["mac"], l["ip"], l["state"], l["hostname"] or "-")'
}

# --- real clients ---------------------------------------------------------------------------
# Each writes the variables its hook script saw for the final (bound) event to OUT as
# key=value lines with common names: ip mask router dns hostname rootpath siaddr bootfile
# serverid (missing when the client does not expose them), plus the client's raw lines.

# run_udhcpc CNS OUT [extra udhcpc args]: busybox udhcpc, one lease then quit (-q). The script
# records; it configures the address on eth0 only with UDHCPC_CONFIGURE=1.
run_udhcpc() {
	local cns=$1 out=$2 script="$T/udhcpc.$1.script"
	shift 2
	_udhcpc_script "$out" "$script"
	ip netns exec "$cns" timeout 30 busybox udhcpc -i eth0 -f -q -n \
		-t 5 -T 1 -A 1 -s "$script" -O rootpath -O hostname "$@" >"$out.log" 2>&1
}

# udhcpc_start CNS OUT [extra args]: udhcpc kept running in the background (it renews, and
# releases on SIGUSR2), the address configured on eth0. Returns when the lease is bound
# (max 15 s). Sets UDHCPC_PID.
udhcpc_start() {
	local cns=$1 out=$2 script="$T/udhcpc.$1.script" i
	shift 2
	UDHCPC_CONFIGURE=1 _udhcpc_script "$out" "$script"
	ip netns exec "$cns" busybox udhcpc -i eth0 -f -t 5 -T 1 -A 1 -s "$script" \
		-O rootpath -O hostname "$@" >"$out.log" 2>&1 &
	UDHCPC_PID=$!
	register_pid "$UDHCPC_PID"
	for i in $(seq 1 150); do
		[ -s "$out" ] && return 0
		kill -0 "$UDHCPC_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# udhcpc_release OUT: SIGUSR2 makes the running udhcpc (udhcpc_start ... OUT) release its lease
# (a unicast RELEASE from its address); wait (max 5 s) until it says so.
udhcpc_release() {
	local i
	kill -USR2 "$UDHCPC_PID" 2>/dev/null || return 1
	for i in $(seq 1 50); do
		grep -q "entering released state" "$1.log" && return 0
		sleep 0.1
	done
	return 1
}

# _udhcpc_script OUT SCRIPT: the hook script for udhcpc.
_udhcpc_script() {
	local out=$1 script=$2
	{
		echo '#!/bin/sh'
		echo "UDHCPC_OUT='$out'"
		echo "UDHCPC_CONFIGURE='${UDHCPC_CONFIGURE:-0}'"
	} >"$script"
	cat >>"$script" <<'EOF'
# udhcpc hook: record the bound lease; configure the address only when asked to.
case "$1" in
deconfig)
	[ "$UDHCPC_CONFIGURE" = 1 ] && ip -4 addr flush dev "$interface"
	;;
bound|renew)
	[ "$UDHCPC_CONFIGURE" = 1 ] && ip addr replace "$ip/$mask" dev "$interface"
	{
		echo "event=$1"
		echo "ip=$ip"; echo "mask=$subnet"; echo "router=$router"; echo "dns=$dns"
		echo "hostname=$hostname"; echo "rootpath=$rootpath"; echo "siaddr=$siaddr"
		echo "bootfile=$boot_file"; echo "serverid=$serverid"; echo "lease=$lease"
	} >"$UDHCPC_OUT"
	;;
esac
exit 0
EOF
	chmod +x "$script"
	: >"$out"
}

# run_dhclient CNS OUT: ISC dhclient, once (-1), in the foreground with private config, lease
# and pid files; stopped by PID as soon as its script saw BOUND.
run_dhclient() {
	local cns=$1 out=$2 d="$T/dhclient.$1" pid i
	mkdir -p "$d"
	{ echo '#!/bin/sh'; echo "DHCLIENT_OUT='$out'"; } >"$d/script"
	cat >>"$d/script" <<'EOF'
# dhclient hook: record the bound lease, configure nothing.
case "$reason" in
BOUND|REBOOT|RENEW)
	{
		echo "event=$reason"
		echo "ip=$new_ip_address"; echo "mask=$new_subnet_mask"
		echo "router=$new_routers"; echo "dns=$new_domain_name_servers"
		echo "hostname=$new_host_name"; echo "rootpath=$new_root_path"
		echo "bootfile=$new_filename"; echo "serverid=$new_dhcp_server_identifier"
		echo "next_server=${new_next_server:-}"; echo "lease=$new_dhcp_lease_time"
	} >"$DHCLIENT_OUT.tmp" && mv "$DHCLIENT_OUT.tmp" "$DHCLIENT_OUT"
	;;
esac
exit 0
EOF
	chmod +x "$d/script"
	cat >"$d/conf" <<'EOF'
# private dhclient.conf of the test: nothing from /etc
request subnet-mask, broadcast-address, routers, domain-name-servers, host-name, root-path,
	dhcp-server-identifier, dhcp-lease-time;
timeout 20;
retry 1;
initial-interval 1;
EOF
	: >"$out"
	ip netns exec "$cns" dhclient -4 -1 -d -v -cf "$d/conf" \
		-sf "$d/script" -lf "$d/leases" -pf "$d/pid" eth0 >"$out.log" 2>&1 &
	pid=$!
	register_pid "$pid"
	for i in $(seq 1 250); do
		[ -s "$out" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill_pid "$pid"
	wait "$pid" 2>/dev/null
	[ -s "$out" ]
}

# run_dhcpcd CNS OUT: dhcpcd 9, IPv4 only, once (-1), in the foreground (-B), private config,
# our script instead of dhcpcd-run-hooks (so no resolv.conf or hostname hooks run), no default
# route (nogateway), and private /run and /var/lib/dhcpcd (tmpfs in its own mount namespace) so
# it neither sees nor writes the host's pid files, sockets, DUID and lease files.
run_dhcpcd() {
	local cns=$1 out=$2 d="$T/dhcpcd.$1"
	mkdir -p "$d"
	{ echo '#!/bin/sh'; echo "DHCPCD_OUT='$out'"; } >"$d/script"
	cat >>"$d/script" <<'EOF'
# dhcpcd hook: record the bound lease.
case "$reason" in
BOUND|REBOOT|RENEW)
	{
		echo "event=$reason"
		echo "ip=$new_ip_address"; echo "mask=$new_subnet_mask"
		echo "router=$new_routers"; echo "dns=$new_domain_name_servers"
		echo "hostname=$new_host_name"; echo "rootpath=$new_root_path"
		echo "bootfile=$new_bootfile_name"; echo "tftp_server=$new_tftp_server_name"
		echo "serverid=$new_dhcp_server_identifier"; echo "lease=$new_dhcp_lease_time"
	} >"$DHCPCD_OUT.tmp" && mv "$DHCPCD_OUT.tmp" "$DHCPCD_OUT"
	;;
esac
exit 0
EOF
	chmod +x "$d/script"
	cat >"$d/conf" <<'EOF'
# private dhcpcd.conf of the test: nothing from /etc
ipv4only
noipv4ll
noarp
nodelay
nogateway
option subnet_mask, routers, domain_name_servers, host_name, root_path
option tftp_server_name, bootfile_name
EOF
	: >"$out"
	ip netns exec "$cns" unshare -m --propagation private sh -c '
		mount -t tmpfs pxed-test /run &&
		mount -t tmpfs pxed-test /var/lib/dhcpcd &&
		exec timeout 30 dhcpcd -f "$1" -c "$2" -1 -4 -B -d -t 20 eth0' sh \
		"$d/conf" "$d/script" >"$out.log" 2>&1
	[ -s "$out" ]
}

# sniff_start CNS MAC OUT [dhcpc args]: capture every BOOTREPLY for MAC on eth0 in CNS (dhcpc.py
# sniff) in the background until an ACK arrives (max 40 s); returns once it is capturing. Sets
# SNIFF_PID. Extra args e.g. "--port 67 -i eth0" (replies to a relay).
sniff_start() {
	local cns=$1 mac=$2 f=$3 i
	shift 3
	rm -f "$f" "$f.ready"
	ip netns exec "$cns" timeout 45 python3 "$INTEG_DIR/dhcpc.py" sniff --mac "$mac" \
		--until ACK --wait 40 --ready "$f.ready" "$@" >"$f" 2>&1 &
	SNIFF_PID=$!
	register_pid "$SNIFF_PID"
	for i in $(seq 1 50); do
		[ -f "$f.ready" ] && return 0
		kill -0 "$SNIFF_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# sniff_stop [PID]: give the capture ($SNIFF_PID) 3 s to see its ACK, then stop it (it prints
# what it saw).
sniff_stop() {
	local pid=${1:-$SNIFF_PID} i
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill_pid "$pid"
	wait "$pid" 2>/dev/null
	return 0
}
