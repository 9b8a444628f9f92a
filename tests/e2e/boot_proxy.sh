#!/bin/bash
# Issue 4, scenario 4: proxyDHCP. dnsmasq (in its own namespace on the lab bridge, 198.18.0.2)
# is the network's DHCP server and only hands out addresses (a range, plus a reservation with
# the node's address and host name, as an existing DHCP server would have); pxed runs with
# dhcp.mode = proxy and adds nothing but boot information. A BIOS VM (QEMU's iPXE ROM) gets
# its address from dnsmasq and its boot file (the profile's iPXE script over HTTP) from pxed's
# proxy OFFER or port-4011 ACK, boots the kernel over HTTP, and the node prints NODE-UP with the
# host name and address dnsmasq gave it (server=198.18.0.2).
#
# About 50-70 s under TCG.
#
#   PXED=build/pxed bash tests/e2e/boot_proxy.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e4:34
NODE_IP=198.18.0.34 # dnsmasq's reservation; pxed does not know it
NODE_HOST=e2e-proxy-node
URL="http://198.18.0.1/boot/$MAC.ipxe"
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
SCRIPT_RE="/boot/$(mac_path_re $MAC)\.ipxe"

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
e2e_node_image || {
	not_ok "node image builds"
	finish
}
ok "node image: $NODE_DIR"
command -v dnsmasq >/dev/null || {
	not_ok "dnsmasq is installed (package dnsmasq-base)"
	finish
}

ROOT="$T/tftp"
lab_node_files "$ROOT"

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}

# The network's own DHCP server: addresses and host names only (no boot file, no DNS).
lab_client_ns dnsm 52:54:00:e2:e4:02 198.18.0.2 >/dev/null || {
	not_ok "a namespace for dnsmasq on br0"
	finish
}
DNS_NS=$LAB_CLIENT_NS
ip netns exec "$DNS_NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-ping \
	--dhcp-range=198.18.0.50,198.18.0.60,255.255.255.0,600 \
	--dhcp-host="$MAC,$NODE_IP,$NODE_HOST" --interface=eth0 --bind-interfaces \
	--dhcp-leasefile="$T/dnsmasq.leases" --pid-file="$T/dnsmasq.pid" --log-dhcp \
	>"$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
register_pid "$DNSMASQ_PID"
e2e_keep "$T/dnsmasq.log"
if wait_udp_bound 67 "$DNS_NS" "$DNSMASQ_PID"; then
	ok "dnsmasq hands out addresses on 198.18.0.2"
else
	not_ok "dnsmasq hands out addresses on 198.18.0.2" "$(cat "$T/dnsmasq.log")"
	finish
fi

lab_pxed_server -o dhcp.mode=proxy \
	-o http.enabled=yes -o http.listen=198.18.0.1:80 \
	-o profile.px.kernel=vmlinuz -o profile.px.initrd=initrd.img \
	-o 'profile.px.cmdline=console=ttyS0 panic=-1 e2e.cfg=proxy-${name}' \
	-o node.px.mac=$MAC -o node.px.profile=px || {
	not_ok "pxed serves proxyDHCP, TFTP and HTTP in the lab"
	finish
}
pxed_log_has "pxed runs as proxyDHCP (ports 67 and 4011)" 'dhcp: proxyDHCP on port 67 and 4011'
lab_capture_start || not_ok "tshark captures br0"

vm_start bios px "$MAC" || {
	not_ok "QEMU starts"
	finish
}
vm_boot_to "the node reached NODE-UP" 'NODE-UP ' "$VM_LIMIT" &&
	{ vm_wait_exit 30 && ok "the node powered off" ||
		not_ok "the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"; }

# pxed: a proxy offer (no address) on 67 with the boot file; never an address.
M="dhcp $MAC"
pxed_log_has "pxed: proxy OFFER to the ROM, no address, the script URL" \
	"$M DISCOVER arch=bios\(93\) stage=ipxe node=px -> OFFER (-|0\.0\.0\.0) file=${URL//./\\.}"
# iPXE (2019 build) takes the boot file straight from the proxy OFFER (it has option 43 with
# PXE_DISCOVERY_CONTROL = 8) and may skip the port-4011 request; when it asks, the answer must
# carry the same URL.
if grep -qE "$M [A-Z]+@4011 " "$PXED_LOG"; then
	pxed_log_has "pxed: the ROM's port-4011 request answered with the script URL" \
		"$M [A-Z]+@4011 .*node=px -> ACK [^ ]+ file=${URL//./\\.}"
else
	note "the ROM did not ask port 4011 (it used the proxy OFFER's boot file)"
fi
pxed_log_lacks "pxed never hands out an address" "$M .*-> (OFFER|ACK) 198\.18\.0\."
pxed_log_lacks "pxed never answers a REQUEST on port 67 in proxy mode" "$M REQUEST arch.* -> ACK "
pxed_log_has "HTTP: the rendered iPXE script" "http $NODE_IP:[0-9]+ \"GET $SCRIPT_RE\" 200 "
for f in vmlinuz initrd.img; do
	size=$(stat -c %s "$ROOT/$f")
	pxed_log_has "HTTP: $f ($size bytes)" "http $NODE_IP:[0-9]+ \"GET /$f\" 200 $size bytes"
done
# dnsmasq: the addresses (the ROM's and the node's udhcpc's).
if grep -qE "DHCPACK\(eth0\) $NODE_IP $MAC $NODE_HOST" "$T/dnsmasq.log"; then
	ok "dnsmasq acknowledged the reserved address and host name"
else
	not_ok "dnsmasq acknowledged the reserved address and host name" "$(tail -n 20 "$T/dnsmasq.log")"
fi
serial_has "serial: iPXE got the script URL from the proxy" "Filename: ${URL//./\\.}"
serial_has "serial: the kernel runs with the profile's command line" \
	'Command line: .*e2e\.cfg=proxy-px'
serial_has "serial: the node came up with dnsmasq's host name and address" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP .* server=198\.18\.0\.2"
status_has "pxed status px: the proxy answer in the timeline" px "${URL//./\\.}"
finish
