#!/bin/bash
# Leases survive a restart of pxed: after SIGTERM, and after SIGKILL the very moment a client
# receives its ACK (the python client kills pxed when the ACK arrives, 5 times). After each
# restart `pxed leases` lists every lease, the same clients get the same addresses back
# (dhclient INIT-REBOOTs from its lease file, udhcpc rediscovers, the raw client sends an
# INIT-REBOOT REQUEST), and a new client never gets one of those addresses.
. "$(dirname "$0")/dhcplib.sh"

need_cmd busybox busybox
need_cmd dhclient isc-dhcp-client
dhcp_need_netns

SNS="pxds$$"
PC="pxdpc$$"
CU="pxdu$$"
CDH="pxddh$$"
MAC_U=52:54:00:00:01:11
MAC_DH=52:54:00:00:01:22
MAC_P1=52:54:00:00:01:33
MAC_P2=52:54:00:00:01:44
MAC_21=52:54:00:00:00:21
KILL_ROUNDS=${KILL_ROUNDS:-5}

{
	dhcp_lab "$SNS" && dhcp_client "$SNS" "$PC" 52:54:00:00:01:01 &&
		dhcp_client "$SNS" "$CU" $MAC_U && dhcp_client "$SNS" "$CDH" $MAC_DH
} || { not_ok "lab: br0 and 3 client namespaces"; finish; }
ok "lab: br0 198.18.0.1/24 and 3 client namespaces"

# shellcheck disable=SC2034 # read by lib.sh
PXED_NETNS=$SNS
OPTS=(-o dhcp.mode=server -o subnet.lab.network=198.18.0.0/24
	-o "subnet.lab.range=198.18.0.100 198.18.0.150" -o subnet.lab.router=198.18.0.1
	-o "node.n21.mac=$MAC_21" -o node.n21.ip=198.18.0.21)
start_pxed_dhcp "${OPTS[@]}" || { not_ok "pxed starts"; finish; }
ok "pxed starts with an empty lease store"

pc() { dhcpc "$PC" "$@" >"$T/pc.out" 2>&1; }

# --- leases before the restart -------------------------------------------------------------
declare -A IP # MAC -> address
run_dhclient "$CDH" "$T/dh.out" || not_ok "dhclient gets a lease" "$(tail -n 5 "$T/dh.out.log")"
IP[$MAC_DH]=$(kv "$T/dh.out" ip)
run_udhcpc "$CU" "$T/u.out" || not_ok "udhcpc gets a lease" "$(cat "$T/u.out.log")"
IP[$MAC_U]=$(kv "$T/u.out" ip)
for m in $MAC_P1 $MAC_P2 $MAC_21; do
	pc dora --mac $m
	[ "$(kv "$T/pc.out" ack.type)" = ACK ] || not_ok "raw client $m gets an ACK" "$(grep type= "$T/pc.out")"
	IP[$m]=$(kv "$T/pc.out" ack.yiaddr)
done
summary() { local m; for m in "${!IP[@]}"; do printf '%s=%s ' "$m" "${IP[$m]}"; done; }
note "leases: $(summary)"
n=0
for m in "${!IP[@]}"; do [ -n "${IP[$m]}" ] && n=$((n + 1)); done
check_eq "5 clients (dhclient, udhcpc, 3 raw) hold leases" 5 "$n"
check_eq "the node got its fixed address" 198.18.0.21 "${IP[$MAC_21]}"

# check_store WHEN: pxed leases lists exactly the leases in IP[].
check_store() {
	local m miss=""
	leases_list >"$T/leases" 2>&1
	for m in "${!IP[@]}"; do
		grep -qx "$m ${IP[$m]} bound .*" "$T/leases" || miss="$miss $m=${IP[$m]}"
	done
	if [ -z "$miss" ] && [ "$(wc -l <"$T/leases")" = "${#IP[@]}" ]; then
		ok "$1: pxed leases lists all ${#IP[@]} leases"
	else
		not_ok "$1: pxed leases lists all ${#IP[@]} leases" "missing:$miss" "$(cat "$T/leases")"
	fi
}

# --- SIGTERM ------------------------------------------------------------------------------
rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
check_store "after SIGTERM (daemon stopped)"

start_pxed_dhcp "${OPTS[@]}" || { not_ok "pxed restarts"; finish; }
if log_wait "dhcp: DHCP server on port 67 and 4011, 5 leases loaded" 2 >/dev/null; then
	ok "restart: the log says 5 leases loaded"
else not_ok "restart: the log says 5 leases loaded" "$(grep -a 'leases loaded' "$PXED_LOG")"; fi

# dhclient starts with the lease in its lease file: INIT-REBOOT (REQUEST without server id).
run_dhclient "$CDH" "$T/dh2.out" || not_ok "dhclient gets a lease again" "$(tail -n 5 "$T/dh2.out.log")"
check_eq "dhclient: same address after the restart" "${IP[$MAC_DH]}" "$(kv "$T/dh2.out" ip)"
if log_wait "dhcp $MAC_DH REQUEST .*-> ACK ${IP[$MAC_DH]} .*\(init-reboot\)" 2 >/dev/null; then
	ok "dhclient: its INIT-REBOOT REQUEST was ACKed"
else not_ok "dhclient: its INIT-REBOOT REQUEST was ACKed" "$(grep -a "$MAC_DH" "$PXED_LOG")"; fi
run_udhcpc "$CU" "$T/u2.out" || not_ok "udhcpc gets a lease again" "$(cat "$T/u2.out.log")"
check_eq "udhcpc: same address after the restart (a new DISCOVER)" "${IP[$MAC_U]}" "$(kv "$T/u2.out" ip)"
pc request --state init-reboot --mac $MAC_P1 --ip "${IP[$MAC_P1]}"
check_eq "raw client 1: INIT-REBOOT REQUEST for its address is ACKed" "ACK ${IP[$MAC_P1]}" \
	"$(kv "$T/pc.out" reply.type) $(kv "$T/pc.out" reply.yiaddr)"
pc discover --mac $MAC_P2
check_eq "raw client 2: a new DISCOVER is offered its previous address" "OFFER ${IP[$MAC_P2]}" \
	"$(kv "$T/pc.out" offer.type) $(kv "$T/pc.out" offer.yiaddr)"
pc request --state init-reboot --mac 52:54:00:00:01:55 --ip "${IP[$MAC_P1]}"
check_eq "another client's INIT-REBOOT for raw client 1's address is NAKed" NAK \
	"$(kv "$T/pc.out" reply.type)"

# new_client_check WHEN MAC: a DORA from a new MAC gets none of the addresses in IP[].
new_client_check() {
	local m got
	pc dora --mac "$2"
	got=$(kv "$T/pc.out" ack.yiaddr)
	for m in "${!IP[@]}"; do
		if [ "${IP[$m]}" = "$got" ]; then
			not_ok "$1: a new client ($2) gets none of the leased addresses" "got $got, leased to $m"
			return
		fi
	done
	if [ "$(kv "$T/pc.out" ack.type)" = ACK ]; then
		ok "$1: a new client ($2) gets none of the leased addresses (got $got)"
		IP[$2]=$got
	else
		not_ok "$1: a new client ($2) gets none of the leased addresses" "no ACK"
	fi
}
new_client_check "after SIGTERM" 52:54:00:00:02:00

# --- SIGKILL the moment an ACK arrives ----------------------------------------------------------
for i in $(seq 1 "$KILL_ROUNDS"); do
	mac=52:54:00:00:03:$(printf '%02x' "$i")
	pc dora --mac "$mac" --kill-on-ack "$PXED_PID"
	got=$(kv "$T/pc.out" ack.yiaddr)
	killed=$(kv "$T/pc.out" killed)
	wait "$PXED_PID" 2>/dev/null
	rc=$?
	if [ "$killed" = "$PXED_PID" ] && [ "$rc" = 137 ] && [ -n "$got" ]; then
		ok "round $i: $mac got ACK $got and pxed was SIGKILLed at that moment"
	else
		not_ok "round $i: $mac got ACK $got and pxed was SIGKILLed at that moment" \
			"killed=$killed exit=$rc" "$(grep -E 'type=' "$T/pc.out")"
	fi
	IP[$mac]=$got
	start_pxed_dhcp "${OPTS[@]}" || { not_ok "round $i: pxed restarts"; finish; }
	if log_wait "leases loaded" 2 | grep -q " ${#IP[@]} leases loaded"; then
		ok "round $i: restart loads ${#IP[@]} leases"
	else not_ok "round $i: restart loads ${#IP[@]} leases" "$(grep -a 'leases loaded' "$PXED_LOG")"; fi
	pc request --state init-reboot --mac "$mac" --ip "$got"
	check_eq "round $i: $mac's INIT-REBOOT REQUEST for $got is ACKed" "ACK $got" \
		"$(kv "$T/pc.out" reply.type) $(kv "$T/pc.out" reply.yiaddr)"
	pc discover --mac "52:54:00:00:05:$(printf %02x "$i")"
	offered=$(kv "$T/pc.out" offer.yiaddr)
	if [ -n "$offered" ] && [ "$offered" != "$got" ]; then
		ok "round $i: a new client is offered $offered, not $got"
	else not_ok "round $i: a new client is offered another address than $got" "offered: $offered"; fi
done
check_store "after $KILL_ROUNDS SIGKILLs"
new_client_check "after SIGKILL" 52:54:00:00:04:00
check_store "at the end"

rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
