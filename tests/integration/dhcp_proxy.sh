#!/bin/bash
# proxyDHCP: pxed (dhcp.mode = proxy, 198.18.0.1) next to dnsmasq (its own namespace on the same
# bridge, 198.18.0.2), which only hands out addresses (198.18.0.50-60). A raw PXE client (UEFI
# x64: option 60 PXEClient:Arch:00007, 93 = 7, 94, 97) gets two offers: dnsmasq's with an
# address, pxed's with yiaddr 0, option 60 PXEClient, option 43, its machine id (97), siaddr
# 198.18.0.1 and file ipxe.efi; it takes dnsmasq's address (pxed stays silent on that REQUEST),
# then asks pxed's boot server on port 4011 from its new address and gets an ACK with the boot
# file there. A BIOS PXE client gets undionly.kpxe. A non-PXE client (udhcpc) gets its address
# from dnsmasq only; pxed logs that it ignored it.
. "$(dirname "$0")/dhcplib.sh"

need_cmd busybox busybox
need_cmd dnsmasq dnsmasq-base
dhcp_need_netns

SNS="pxds$$"
SD="pxddm$$" # dnsmasq, 198.18.0.2
PC="pxdpc$$" # raw PXE client
CU="pxdu$$"  # udhcpc
MAC_PXE=52:54:00:00:07:07
MAC_BIOS=52:54:00:00:07:00
MAC_U=52:54:00:00:07:77
UUID=00112233445566778899aabbccddeeff

{
	dhcp_lab "$SNS" && dhcp_client "$SNS" "$SD" 52:54:00:00:02:02 198.18.0.2/24 &&
		dhcp_client "$SNS" "$PC" $MAC_PXE && dhcp_client "$SNS" "$CU" $MAC_U
} || { not_ok "lab: br0, dnsmasq namespace and 2 client namespaces"; finish; }
ok "lab: br0 198.18.0.1 (pxed), dnsmasq on 198.18.0.2, 2 client namespaces"

# dnsmasq: DHCP only (no DNS: --port=0), no config files, no ping check (fast offers).
ip netns exec "$SD" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-ping \
	--dhcp-range=198.18.0.50,198.18.0.60,255.255.255.0 --interface=eth0 --bind-interfaces \
	--dhcp-leasefile="$T/dnsmasq.leases" --pid-file="$T/dnsmasq.pid" --log-dhcp \
	>"$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
register_pid "$DNSMASQ_PID"
SERVER_LOGS+=("$T/dnsmasq.log")
if wait_udp_bound 67 "$SD" "$DNSMASQ_PID"; then ok "dnsmasq serves DHCP on 198.18.0.2"
else not_ok "dnsmasq serves DHCP on 198.18.0.2" "$(cat "$T/dnsmasq.log")"; finish; fi

# shellcheck disable=SC2034 # read by lib.sh
PXED_NETNS=$SNS
start_pxed_dhcp -o dhcp.mode=proxy -o dhcp.boot-uefi-x64=ipxe.efi \
	-o dhcp.boot-bios=undionly.kpxe || { not_ok "pxed starts in proxy mode"; finish; }
if log_wait "dhcp: proxyDHCP on port 67 and 4011" 1 >/dev/null; then ok "pxed starts as proxyDHCP on 67 and 4011"
else not_ok "pxed starts as proxyDHCP on 67 and 4011" "$(head -n 5 "$PXED_LOG")"; fi

# shellcheck disable=SC2054 # the commas are inside one argument
PXE_ARGS=(--vendor-class PXEClient:Arch:00007:UNDI:003016 --arch 7 --ndi --uuid "$UUID"
	--prl 1,2,3,4,5,6,12,13,15,17,18,22,23,28,40,41,42,43,50,51,54,58,59,60,66,67,97,128,129,130,131,132,133,134,135)

# --- UEFI PXE client: two offers -----------------------------------------------------------
dhcpc "$PC" dora --all --wait 2 --select 198.18.0.2 "${PXE_ARGS[@]}" >"$T/pxe.out" 2>&1
f=$T/pxe.out
r() { rkv "$f" "$1" "$2"; }
check_eq "PXE client: two OFFERs (one per server)" "2" \
	"$(grep -c '^r[0-9]*\.type=OFFER$' "$f")"
ADDR=$(r 198.18.0.2 yiaddr)
case "$ADDR" in 198.18.0.5[0-9] | 198.18.0.60) ok "dnsmasq's OFFER has an address from its range ($ADDR)" ;;
*) not_ok "dnsmasq's OFFER has an address from its range" "got '$ADDR'" "$(grep -E 'type=|server_id=' "$f")" ;; esac
check_eq "pxed's OFFER: type OFFER" OFFER "$(r 198.18.0.1 type)"
check_eq "pxed's OFFER: yiaddr 0.0.0.0 (no address in proxy mode)" 0.0.0.0 "$(r 198.18.0.1 yiaddr)"
check_eq "pxed's OFFER: option 60 PXEClient" PXEClient "$(r 198.18.0.1 vendor_class)"
check_eq "pxed's OFFER: option 43 PXE_DISCOVERY_CONTROL = 8 (use the boot file)" 060108ff \
	"$(r 198.18.0.1 opt.43)"
check_eq "pxed's OFFER: siaddr 198.18.0.1" 198.18.0.1 "$(r 198.18.0.1 siaddr)"
check_eq "pxed's OFFER: file ipxe.efi (UEFI x64 from option 93)" ipxe.efi "$(r 198.18.0.1 file)"
check_eq "pxed's OFFER: client machine id (97) echoed" "00$UUID" "$(r 198.18.0.1 opt.97)"
lease_opts=$(r 198.18.0.1 opts | tr ',' '\n' | grep -xE '1|3|6|51|58|59' | paste -sd,)
check_eq "pxed's OFFER: no lease options (1, 3, 6, 51, 58, 59)" "" "$lease_opts"
check_eq "PXE client: REQUEST for dnsmasq's address is ACKed by dnsmasq" "ACK $ADDR 198.18.0.2" \
	"$(kv "$f" ack.type) $(kv "$f" ack.yiaddr) $(kv "$f" ack.server_id)"
if log_wait "dhcp $MAC_PXE REQUEST node=- -> no reply .*\(proxyDHCP: REQUEST is for the DHCP server\)" 2 >/dev/null; then
	ok "pxed leaves the REQUEST to dnsmasq (logged, no reply)"
else not_ok "pxed leaves the REQUEST to dnsmasq (logged, no reply)" "$(grep -a "$MAC_PXE" "$PXED_LOG")"; fi
if log_wait "dhcp $MAC_PXE DISCOVER arch=uefi-x64\(93\) stage=pxe node=- -> OFFER - file=ipxe\.efi" 1 >/dev/null; then
	ok "log: proxy OFFER line with arch uefi-x64(93) and file ipxe.efi"
else not_ok "log: proxy OFFER line with arch uefi-x64(93) and file ipxe.efi" "$(grep -a "$MAC_PXE" "$PXED_LOG")"; fi

# --- boot server (port 4011), unicast from the new address -----------------------------------
if [ -n "$ADDR" ]; then
	ip -n "$PC" addr add "$ADDR/24" dev eth0
	dhcpc "$PC" request --state renewing --ip "$ADDR" --from "$ADDR:68" --to 198.18.0.1:4011 \
		"${PXE_ARGS[@]}" --opt 43=470400000000ff >"$T/bs.out" 2>&1
	# (--opt 43: PXE_BOOT_ITEM type 0 layer 0, then END)
	f=$T/bs.out
	check_eq "port 4011: REQUEST gets an ACK" ACK "$(kv "$f" reply.type)"
	check_eq "port 4011: ACK from 198.18.0.1:4011 to $ADDR:68" "198.18.0.1:4011 $ADDR:68" \
		"$(kv "$f" reply.ip_src):$(kv "$f" reply.sport) $(kv "$f" reply.ip_dst):$(kv "$f" reply.dport)"
	check_eq "port 4011: boot file ipxe.efi, siaddr 198.18.0.1" "ipxe.efi 198.18.0.1" \
		"$(kv "$f" reply.file) $(kv "$f" reply.siaddr)"
	check_eq "port 4011: ACK has no address (yiaddr 0) and keeps ciaddr" "0.0.0.0 $ADDR" \
		"$(kv "$f" reply.yiaddr) $(kv "$f" reply.ciaddr)"
	check_eq "port 4011: PXE_BOOT_ITEM echoed in option 43" 470400000000ff "$(kv "$f" reply.opt.43)"
	check_eq "port 4011: option 60 PXEClient" PXEClient "$(kv "$f" reply.vendor_class)"
	if log_wait "dhcp $MAC_PXE REQUEST@4011 arch=uefi-x64\(93\) stage=pxe node=- -> ACK - file=ipxe\.efi \(boot server" 1 >/dev/null; then
		ok "log: REQUEST@4011 -> ACK file=ipxe.efi (boot server)"
	else not_ok "log: REQUEST@4011 -> ACK file=ipxe.efi (boot server)" "$(grep -a "$MAC_PXE" "$PXED_LOG")"; fi
	ip -n "$PC" addr del "$ADDR/24" dev eth0
else
	not_ok "port 4011: skipped, the PXE client got no address from dnsmasq"
fi

# --- BIOS PXE client (arch 0 from option 60 only) ---------------------------------------------
dhcpc "$PC" discover --all --wait 1.5 --mac $MAC_BIOS \
	--vendor-class PXEClient:Arch:00000:UNDI:002001 >"$T/bios.out" 2>&1
f=$T/bios.out
check_eq "BIOS PXE client (option 60 Arch:00000): pxed offers undionly.kpxe" \
	"OFFER 0.0.0.0 undionly.kpxe" "$(r 198.18.0.1 type) $(r 198.18.0.1 yiaddr) $(r 198.18.0.1 file)"
if log_wait "dhcp $MAC_BIOS DISCOVER arch=bios\(60\)" 1 >/dev/null; then ok "log: BIOS arch taken from option 60"
else not_ok "log: BIOS arch taken from option 60" "$(grep -a "$MAC_BIOS" "$PXED_LOG")"; fi

# --- a client that is not PXE: dnsmasq only --------------------------------------------------
sniff_start "$CU" $MAC_U "$T/u.wire" || not_ok "udhcpc: capture starts"
run_udhcpc "$CU" "$T/u.out" || not_ok "udhcpc gets a lease" "$(cat "$T/u.out.log")"
sniff_stop
UIP=$(kv "$T/u.out" ip)
case "$UIP" in 198.18.0.5[0-9] | 198.18.0.60) ok "udhcpc gets $UIP from dnsmasq's range" ;;
*) not_ok "udhcpc gets an address from dnsmasq's range" "got '$UIP'" "$(cat "$T/u.out.log")" ;; esac
check_eq "udhcpc: server id is dnsmasq's" 198.18.0.2 "$(kv "$T/u.out" serverid)"
f=$T/u.wire
if rkv "$f" 198.18.0.1 type >/dev/null; then
	not_ok "udhcpc: no reply from pxed on the wire" "$(grep -E 'type=|server_id=' "$f")"
else
	check_eq "udhcpc: on the wire only dnsmasq answered (OFFER + ACK)" "OFFER ACK" \
		"$(kv "$f" OFFER.type) $(kv "$f" ACK.type)"
fi
if log_wait "debug: dhcp $MAC_U DISCOVER node=- -> dropped - \(not a PXE client\)" 2 >/dev/null; then
	ok "log: pxed ignored udhcpc's DISCOVER (not a PXE client)"
else not_ok "log: pxed ignored udhcpc's DISCOVER (not a PXE client)" "$(grep -a "$MAC_U" "$PXED_LOG")"; fi

leases_list --all >"$T/leases"
check_eq "proxy mode keeps no leases (pxed leases --all is empty)" 0 "$(wc -l <"$T/leases")"
check "dnsmasq is still running" alive "$DNSMASQ_PID"
rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
