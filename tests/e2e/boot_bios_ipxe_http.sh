#!/bin/bash
# Issue 4, scenario 2: BIOS -> undionly.kpxe -> iPXE -> HTTP script -> kernel + initrd over HTTP,
# with no chainload loop. Everything comes from the node's profile (loader ipxe, the default):
# no [dhcp] boot-* key is set.
#
# QEMU's BIOS ROM is iPXE, so a plain PXE ROM's first stage is played in two parts:
#  - on the wire: a raw DHCP client in a namespace sends what a plain PXE ROM sends (option 60
#    PXEClient:Arch:00000:UNDI:002001, 93 = 0, 94, no user class, no option 175) for the node's
#    MAC and must be offered undionly.kpxe (rule: the profile's loader);
#  - in the VM: the ROM's own shell (Ctrl-B on the serial console) does what a plain ROM does
#    with that answer, without a DHCP of its own: static address, then `chain
#    tftp://198.18.0.1/undionly.kpxe`. The real undionly.kpxe (package ipxe) from pxed's TFTP
#    then runs over the ROM's UNDI, DHCPs as iPXE and must get the script URL
#    http://198.18.0.1/boot/<mac>.ipxe (never undionly.kpxe again: no loop), fetches the
#    rendered script, the kernel and the initrd over HTTP; the node prints NODE-UP.
#
# About 50-70 s under TCG.
#
#   PXED=build/pxed bash tests/e2e/boot_bios_ipxe_http.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e4:32
NODE_IP=198.18.0.32
NODE_HOST=e2e-http-node
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

ROOT="$T/tftp" # TFTP and HTTP root
lab_node_files "$ROOT"
cp /usr/lib/ipxe/undionly.kpxe "$ROOT/"

OPTS=(
	-o http.enabled=yes -o http.listen=198.18.0.1:80
	-o profile.web.kernel=vmlinuz -o profile.web.initrd=initrd.img
	-o 'profile.web.cmdline=console=ttyS0 panic=-1 e2e.cfg=script-${name}'
	-o "node.web.mac=$MAC" -o "node.web.ip=$NODE_IP" -o "node.web.hostname=$NODE_HOST"
	-o node.web.profile=web
)

# `pxed render` first: the chain it promises.
RS=(-o tftp.root="$ROOT" -o server.state-dir="$T/render-state" -o dhcp.mode=server
	-o subnet.lab.network=198.18.0.0/24)
render=$("$PXED" render web --server 198.18.0.1 "${RS[@]}" "${OPTS[@]}" 2>&1)
if printf '%s\n' "$render" | grep -q "== DHCP (bios): .* file undionly\.kpxe" &&
	printf '%s\n' "$render" | grep -qF "== DHCP (ipxe second stage): ip $NODE_IP, next-server 198.18.0.1, file $URL"; then
	ok "pxed render: BIOS PXE -> undionly.kpxe, iPXE -> $URL"
else
	not_ok "pxed render: BIOS PXE -> undionly.kpxe, iPXE -> $URL" "$render"
fi
# With the usual [dhcp] boot-bios = undionly.kpxe (a dhcpd-style setup), iPXE must still get
# the profile's script, not "nothing" (it is never given undionly.kpxe again).
render=$("$PXED" render web --server 198.18.0.1 --arch ipxe "${RS[@]}" "${OPTS[@]}" \
	-o dhcp.boot-bios=undionly.kpxe 2>&1)
if printf '%s\n' "$render" | grep -qF "== DHCP (ipxe second stage): ip $NODE_IP, next-server 198.18.0.1, file $URL"; then
	ok "pxed render: with boot-bios = undionly.kpxe, iPXE still gets the profile's script URL"
else
	not_ok "pxed render: with boot-bios = undionly.kpxe, iPXE still gets the profile's script URL" \
		"$(printf '%s\n' "$render" | grep -A1 'ipxe second stage')"
fi

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
lab_pxed_server "${OPTS[@]}" || {
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab"
	finish
}
ok "pxed serves DHCP, TFTP and HTTP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

# --- the plain PXE ROM's DHCP, on the wire ---------------------------------------------------
DHCPC="$E2E_DIR/../integration/dhcpc.py"
if lab_client_ns rom "$MAC" "" >/dev/null; then
	CNS=$LAB_CLIENT_NS
	ip netns exec "$CNS" timeout 30 python3 "$DHCPC" discover --wait 3 \
		--vendor-class PXEClient:Arch:00000:UNDI:002001 --arch 0 --ndi \
		--uuid 00112233445566778899aabbccddeeff \
		--prl 1,2,3,5,6,11,12,13,15,16,17,18,43,54,60,67,128,129,130,131,132,133,134,135 \
		>"$T/rom.out" 2>&1
	file=$(kv "$T/rom.out" offer.file)
	check_eq "plain PXE ROM (raw DISCOVER): offered undionly.kpxe" undionly.kpxe "$file"
	check_eq "plain PXE ROM (raw DISCOVER): its fixed address" "$NODE_IP" \
		"$(kv "$T/rom.out" offer.yiaddr)"
	pxed_log_has "pxed: the plain ROM's DISCOVER (stage pxe) -> undionly.kpxe" \
		"dhcp $MAC DISCOVER arch=bios\(93\) stage=pxe node=web -> OFFER $NODE_IP file=undionly\.kpxe "
	# The VM has the same MAC: take this client off the bridge first.
	ip netns del "$CNS"
else
	not_ok "a client namespace for the raw PXE client"
fi

# --- the VM: ROM shell -> undionly.kpxe -> iPXE DHCP -> HTTP script ---------------------------
VM_SERIAL_INPUT=1 vm_start bios web "$MAC" || {
	not_ok "QEMU starts"
	finish
}
if wait_marker "$VM_SERIAL" 'Press Ctrl-B' 60 "$VM_PID" >/dev/null; then
	vm_type web '\002'
fi
if wait_marker "$VM_SERIAL" 'iPXE>' 30 "$VM_PID" >/dev/null; then
	ok "serial: the ROM's iPXE shell (Ctrl-B)"
	vm_type web "ifopen net0 && set net0/ip $NODE_IP && set net0/netmask 255.255.255.0 && chain tftp://198.18.0.1/undionly.kpxe\r"
else
	not_ok "serial: the ROM's iPXE shell (Ctrl-B)" "$(tail -n 5 "$VM_SERIAL" | tr -d '\r')"
fi
vm_boot_to "the node reached NODE-UP" 'NODE-UP ' "$VM_LIMIT" &&
	{ vm_wait_exit 30 && ok "the node powered off" ||
		not_ok "the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"; }

size=$(stat -c %s "$ROOT/undionly.kpxe")
pxed_log_has "TFTP: undionly.kpxe ($size bytes) ok" \
	"tftp $NODE_IP:[0-9]+ \"undionly\.kpxe\": sent $size bytes .*: ok$"
pxed_log_has "DHCP: the chainloaded iPXE (stage ipxe) gets the script URL" \
	"dhcp $MAC REQUEST arch=bios\(93\) stage=ipxe node=web -> ACK $NODE_IP file=${URL//./\\.} "
pxed_log_lacks "no chainload loop: iPXE is never offered an iPXE binary" \
	"dhcp $MAC [A-Z@0-9]+ [^>]*stage=ipxe[^>]*-> (OFFER|ACK) [^ ]+ file=[^ ]*(\.kpxe|\.efi) "
n=$(grep -c '"undionly\.kpxe": sent' "$PXED_LOG")
check_eq "undionly.kpxe was fetched exactly once" 1 "$n"
pxed_log_has "HTTP: the rendered iPXE script" "http $NODE_IP:[0-9]+ \"GET $SCRIPT_RE\" 200 "
for f in vmlinuz initrd.img; do
	size=$(stat -c %s "$ROOT/$f")
	pxed_log_has "HTTP: $f ($size bytes)" "http $NODE_IP:[0-9]+ \"GET /$f\" 200 $size bytes"
done
pxed_log_lacks "the kernel and initrd did not go over TFTP" '"(vmlinuz|initrd\.img)": sent'
no_failed_tftp
serial_has "serial: undionly.kpxe took over the ROM's UNDI" 'using undionly on'
serial_has "serial: iPXE got the script URL by DHCP" "Filename: ${URL//./\\.}"
serial_has "serial: the kernel runs with the profile's command line" \
	'Command line: .*e2e\.cfg=script-web'
serial_has "serial: the node came up with the host name and address from DHCP" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
status_has "pxed status web: the iPXE DHCP with the script URL" web "dhcp-ack .*${URL//./\\.}"
status_has "pxed status web: undionly.kpxe over TFTP" web 'tftp +undionly\.kpxe [0-9]+ bytes'
status_has "pxed status web: the script over HTTP" web "http-script +$SCRIPT_RE"
status_has "pxed status web: the initrd over HTTP" web 'http.*initrd\.img'
finish
