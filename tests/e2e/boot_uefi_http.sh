#!/bin/bash
# Issue 4, scenario 3: UEFI x64 (OVMF) -> ipxe.efi over TFTP -> HTTP script -> kernel + initrd
# over HTTP, all derived from the node's profile (loader ipxe): no [dhcp] boot-* key is set.
# The NIC is virtio-net without option ROM (romfile=), so OVMF's own PXE client (option 93 = 7,
# PXEClient) does the first stage; ipxe.efi (package ipxe, its own virtio driver) then DHCPs as
# iPXE, still arch 7, and must get http://198.18.0.1/boot/<mac>.ipxe, never ipxe.efi again.
# The node then calls its ${up-url}: `pxed status efi` ends with "up".
# (firmware_uefi_pxe.sh covers snponly.efi with configured boot files and a TFTP script.)
#
# About 60-100 s under TCG.
#
#   PXED=build/pxed bash tests/e2e/boot_uefi_http.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e4:33
NODE_IP=198.18.0.33
NODE_HOST=e2e-uefi-http
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
cp /usr/lib/ipxe/ipxe.efi "$ROOT/"

OPTS=(
	-o http.enabled=yes -o http.listen=198.18.0.1:80
	-o profile.efi.kernel=vmlinuz -o profile.efi.initrd=initrd.img
	-o 'profile.efi.cmdline=console=ttyS0 panic=-1 e2e.cfg=script-${name} node.up-url=${up-url}'
	-o "node.efi.mac=$MAC" -o "node.efi.ip=$NODE_IP" -o "node.efi.hostname=$NODE_HOST"
	-o node.efi.profile=efi
)
render=$("$PXED" render efi --server 198.18.0.1 -o tftp.root="$ROOT" \
	-o server.state-dir="$T/render-state" -o dhcp.mode=server \
	-o subnet.lab.network=198.18.0.0/24 "${OPTS[@]}" 2>&1)
if printf '%s\n' "$render" | grep -q "== DHCP (uefi-x64): .* file ipxe\.efi" &&
	printf '%s\n' "$render" | grep -qF "== DHCP (ipxe second stage): ip $NODE_IP, next-server 198.18.0.1, file $URL"; then
	ok "pxed render: UEFI PXE -> ipxe.efi, iPXE -> $URL"
else
	not_ok "pxed render: UEFI PXE -> ipxe.efi, iPXE -> $URL" "$render"
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

vm_start uefi efi "$MAC" || {
	not_ok "QEMU starts"
	finish
}
vm_boot_to "the node reached NODE-UP" 'NODE-UP ' "$VM_LIMIT" &&
	{ vm_wait_exit 30 && ok "the node powered off" ||
		not_ok "the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"; }

M="dhcp $MAC"
pxed_log_has "DHCP ACK to OVMF's PXE (arch=uefi-x64(93), stage pxe): ipxe.efi" \
	"$M REQUEST arch=uefi-x64\(93\) stage=pxe node=efi -> ACK $NODE_IP file=ipxe\.efi "
size=$(stat -c %s "$ROOT/ipxe.efi")
pxed_log_has "TFTP: OVMF fetched ipxe.efi ($size bytes) ok" \
	"tftp $NODE_IP:[0-9]+ \"ipxe\.efi\": sent $size bytes .*: ok$"
pxed_log_has "DHCP ACK to ipxe.efi (stage ipxe): the script URL" \
	"$M REQUEST arch=uefi-x64\(93\) stage=ipxe node=efi -> ACK $NODE_IP file=${URL//./\\.} "
pxed_log_lacks "no chainload loop: iPXE is never offered an iPXE binary" \
	"$M [A-Z@0-9]+ [^>]*stage=ipxe[^>]*-> (OFFER|ACK) [^ ]+ file=[^ ]*(\.kpxe|\.efi) "
pxed_log_has "HTTP: the rendered iPXE script" "http $NODE_IP:[0-9]+ \"GET $SCRIPT_RE\" 200 "
for f in vmlinuz initrd.img; do
	size=$(stat -c %s "$ROOT/$f")
	pxed_log_has "HTTP: $f ($size bytes)" "http $NODE_IP:[0-9]+ \"GET /$f\" 200 $size bytes"
done
no_failed_tftp
serial_has "serial: OVMF started its PXE client" "Start PXE over IPv4"
serial_has "serial: iPXE (EFI) got the script URL by DHCP" "Filename: ${URL//./\\.}"
serial_has "serial: the kernel runs with the profile's command line" \
	'Command line: .*e2e\.cfg=script-efi'
serial_has "serial: the node came up with the host name and address from DHCP" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
status_has "pxed status efi: OVMF's DHCP (uefi-x64) with ipxe.efi" efi 'dhcp-ack .*uefi-x64.*ipxe\.efi'
status_has "pxed status efi: ipxe.efi over TFTP" efi 'tftp +ipxe\.efi [0-9]+ bytes'
status_has "pxed status efi: the script over HTTP" efi "http-script +$SCRIPT_RE"
serial_has "serial: the node called its up URL" 'node: up-url ok'
status_has "pxed status efi: the node's up callback" efi '  up  +efi'
status_has "pxed status: efi's last event is up" "" '^efi +.* up +'

finish
