#!/bin/bash
# A real relay agent: ISC dhcrelay in a middle namespace with two interfaces, downstream
# 198.18.1.1/24 (the clients' network) and upstream 198.18.0.254/24 on pxed's bridge. pxed has
# a [subnet] for 198.18.1.0/24 with no interface: it is chosen by giaddr. A dynamic client
# (udhcpc) gets an address of the relayed subnet and its router; a node (dhclient) gets its
# fixed address and root path there; both leases are listed by pxed leases.
. "$(dirname "$0")/dhcplib.sh"

need_cmd busybox busybox
need_cmd dhclient isc-dhcp-client
need_cmd dhcrelay isc-dhcp-relay
dhcp_need_netns

SNS="pxds$$"
RL="pxdrl$$" # relay: eth0 upstream (br0), eth1 downstream
CN="pxdcn$$" # the remote clients' network: a bridge in its own namespace
C1="pxdc1$$" # udhcpc (dynamic)
C2="pxdc2$$" # dhclient (node n41)
MAC_1=52:54:00:00:41:01
MAC_41=52:54:00:00:00:41

{
	dhcp_lab "$SNS" &&
		dhcp_client "$SNS" "$RL" 52:54:00:00:fe:fe 198.18.0.254/24 &&
		dhcp_lab "$CN" 198.18.1.250/24 &&
		ip -n "$CN" link add rl0 type veth peer name eth1 netns "$RL" &&
		ip -n "$CN" link set rl0 master br0 && ip -n "$CN" link set rl0 up &&
		ip -n "$RL" addr add 198.18.1.1/24 dev eth1 && ip -n "$RL" link set eth1 up &&
		dhcp_link_up "$RL" eth1 &&
		dhcp_client "$CN" "$C1" $MAC_1 && dhcp_client "$CN" "$C2" $MAC_41 &&
		ip -n "$SNS" route add 198.18.1.0/24 via 198.18.0.254 dev br0
} || { not_ok "lab: pxed's network, relay namespace, the clients' network"; finish; }
check_eq "relay namespace does not forward IP (only dhcrelay carries DHCP across)" 0 \
	"$(ip netns exec "$RL" sysctl -n net.ipv4.ip_forward)"
ok "lab: 198.18.0.0/24 (pxed) <- relay 198.18.0.254 / 198.18.1.1 -> 198.18.1.0/24 (clients)"

ip netns exec "$RL" dhcrelay -4 -d -a -pf "$T/dhcrelay.pid" -id eth1 -iu eth0 198.18.0.1 \
	>"$T/dhcrelay.log" 2>&1 &
RELAY_PID=$!
register_pid "$RELAY_PID"
SERVER_LOGS+=("$T/dhcrelay.log")
if wait_udp_bound 67 "$RL" "$RELAY_PID"; then ok "dhcrelay runs in the relay namespace"
else not_ok "dhcrelay runs in the relay namespace" "$(cat "$T/dhcrelay.log")"; finish; fi

# shellcheck disable=SC2034 # read by lib.sh
PXED_NETNS=$SNS
start_pxed_dhcp -o dhcp.mode=server -o dhcp.boot-bios=pxelinux.0 \
	-o subnet.lab.network=198.18.0.0/24 -o "subnet.lab.range=198.18.0.100 198.18.0.150" \
	-o subnet.remote.network=198.18.1.0/24 -o "subnet.remote.range=198.18.1.100 198.18.1.150" \
	-o subnet.remote.router=198.18.1.1 -o subnet.remote.dns=198.18.0.1 \
	-o node.n41.mac=$MAC_41 -o node.n41.ip=198.18.1.41 \
	-o node.n41.root-path=198.18.0.1:/diskless/n41 || { not_ok "pxed starts"; finish; }
ok "pxed starts with subnets lab (br0) and remote (no interface)"

# Captures: replies pxed sends to the relay (upstream, port 67) and what reaches the client.
sniff_start "$RL" $MAC_1 "$T/up.wire" --port 67 -i eth0 || not_ok "capture at the relay starts"
UP_PID=$SNIFF_PID
sniff_start "$C1" $MAC_1 "$T/c1.wire" || not_ok "capture in the client's namespace starts"
run_udhcpc "$C1" "$T/c1.out" || not_ok "udhcpc behind the relay gets a lease" "$(cat "$T/c1.out.log")"
sniff_stop
sniff_stop "$UP_PID"
IP1=$(kv "$T/c1.out" ip)
case "$IP1" in 198.18.1.1[0-4][0-9] | 198.18.1.150) ok "udhcpc behind the relay gets $IP1 from the relayed subnet" ;;
*) not_ok "udhcpc behind the relay gets an address from the relayed subnet" "got '$IP1'" "$(cat "$T/c1.out.log")" ;; esac
check_eq "udhcpc: router and mask of the relayed subnet" "198.18.1.1 255.255.255.0" \
	"$(kv "$T/c1.out" router) $(kv "$T/c1.out" mask)"
check_eq "udhcpc: server id 198.18.0.1, next-server 198.18.0.1, boot file" \
	"198.18.0.1 198.18.0.1 pxelinux.0" \
	"$(kv "$T/c1.out" serverid) $(kv "$T/c1.out" siaddr) $(kv "$T/c1.out" bootfile)"
check_eq "wire: the ACK reached the client through the relay (from 198.18.1.1, giaddr set)" \
	"198.18.1.1 198.18.1.1" "$(kv "$T/c1.wire" ACK.ip_src) $(kv "$T/c1.wire" ACK.giaddr)"
check_eq "wire at the relay: pxed's ACK went to giaddr 198.18.1.1:67" "ACK 198.18.1.1:67" \
	"$(kv "$T/up.wire" ACK.type) $(kv "$T/up.wire" ACK.ip_dst):$(kv "$T/up.wire" ACK.dport)"
# dhcrelay -a: circuit id (sub-option 1) is the receiving interface's name, "eth1".
case "$(kv "$T/up.wire" ACK.opt.82)" in
*010465746831*) ok "wire at the relay: pxed echoed dhcrelay's option 82 (circuit id eth1)" ;;
*) not_ok "wire at the relay: pxed echoed dhcrelay's option 82 (circuit id eth1)" \
	"opt.82=$(kv "$T/up.wire" ACK.opt.82) opts=$(kv "$T/up.wire" ACK.opts)" ;;
esac
if kv "$T/c1.wire" ACK.opts | grep -qE '(^|,)82(,|$)'; then
	not_ok "wire: the relay stripped option 82 that pxed echoed" "$(kv "$T/c1.wire" ACK.opts)"
else ok "wire: the relay stripped option 82 that pxed echoed"; fi

run_dhclient "$C2" "$T/c2.out" || not_ok "dhclient (node n41) behind the relay gets a lease" \
	"$(tail -n 5 "$T/c2.out.log")"
check_eq "dhclient (node n41): fixed address, host name, root path, router" \
	"198.18.1.41 n41 198.18.0.1:/diskless/n41 198.18.1.1" \
	"$(kv "$T/c2.out" ip) $(kv "$T/c2.out" hostname) $(kv "$T/c2.out" rootpath) $(kv "$T/c2.out" router)"

leases_list >"$T/leases"
if grep -qx "$MAC_1 $IP1 bound .*" "$T/leases" && grep -qx "$MAC_41 198.18.1.41 bound n41" "$T/leases"; then
	ok "pxed leases lists both relayed clients"
else not_ok "pxed leases lists both relayed clients" "$(cat "$T/leases")"; fi
if log_wait "dhcp $MAC_1 REQUEST .*-> ACK $IP1 " 1 >/dev/null; then ok "log: ACK for the relayed client"
else not_ok "log: ACK for the relayed client" "$(grep -a "$MAC_1" "$PXED_LOG")"; fi

check "dhcrelay is still running" alive "$RELAY_PID"
rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
