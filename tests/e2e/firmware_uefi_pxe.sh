#!/bin/bash
# Real firmware, UEFI x64: QEMU `-machine q35` with OVMF and a virtio-net NIC without option ROM
# (romfile=), so OVMF's own PXE client (option 93 = 7, PXEClient) does the first stage against
# pxed as DHCP server + TFTP in a lab namespace. pxed gives it boot-uefi-x64 = snponly.efi
# (package ipxe), fetched over pxed's TFTP; that iPXE does its own DHCP (iPXE stage, still arch
# 7) and gets boot-ipxe = tftp://${server}/boot.ipxe, a script that boots the node image (Debian
# kernel through its EFI stub + busybox initramfs) over TFTP to NODE-UP with the host name and
# address of its [node]. One VM boot (about 90-150 s under TCG).
#
#   PXED=build/pxed bash tests/e2e/firmware_uefi_pxe.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e0:22
NODE_IP=198.18.0.22
NODE_HOST=e2e-uefi-node
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
LOADER=${E2E_UEFI_LOADER:-snponly.efi}

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
e2e_node_image || {
	not_ok "node image builds"
	finish
}
ok "node image: $NODE_DIR"

mkdir -p "$T/tftp"
cp "$NODE_DIR/vmlinuz" "$NODE_DIR/initrd.img" /usr/lib/ipxe/undionly.kpxe \
	"/usr/lib/ipxe/$LOADER" "$T/tftp/"
cat >"$T/tftp/boot.ipxe" <<'SCRIPT'
#!ipxe
echo E2E-IPXE-SCRIPT ${platform} ${ip} ${hostname} ${next-server}
kernel vmlinuz console=ttyS0 panic=-1 initrd=initrd.img || goto failed
initrd initrd.img || goto failed
boot || goto failed
:failed
echo E2E-IPXE-FAILED
exit 1
SCRIPT

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
lab_pxed_server \
	-o dhcp.boot-bios=undionly.kpxe \
	-o dhcp.boot-uefi-x64="$LOADER" \
	-o 'dhcp.boot-ipxe=tftp://${server}/boot.ipxe' \
	-o node.vm.mac=$MAC -o node.vm.ip=$NODE_IP -o node.vm.hostname=$NODE_HOST || {
	not_ok "pxed serves DHCP and TFTP in the lab"
	finish
}
ok "pxed serves DHCP and TFTP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

start=$(date +%s)
vm_start uefi uefi "$MAC" || {
	not_ok "QEMU starts"
	finish
}
if line=$(wait_marker "$VM_SERIAL" 'NODE-UP( |-FAILED)|E2E-IPXE-FAILED' "$VM_LIMIT" "$VM_PID"); then
	ok "a marker on the serial console after $(($(date +%s) - start)) s ($E2E_ACCEL)"
	note "  $line"
	if vm_wait_exit 30; then
		ok "the node powered off"
	else
		not_ok "the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"
	fi
else
	not_ok "a marker on the serial console within $VM_LIMIT s ($E2E_ACCEL)" \
		"$(alive "$VM_PID" && echo "QEMU still runs" || echo "QEMU ended without it")" \
		"serial (last 10 lines):" "$(tail -n 10 "$VM_SERIAL" | tr -d '\r' | cut -c1-200)"
fi
note "boot took $(($(date +%s) - start)) s under $E2E_ACCEL"

# First stage: OVMF's PXE client (option 93 = 7) gets the UEFI loader with the fixed address.
M="dhcp $MAC"
pxed_log_has "DHCP OFFER to OVMF's PXE: arch=uefi-x64(93), fixed address, $LOADER" \
	"$M DISCOVER arch=uefi-x64\\(93\\)( stage=pxe)? node=vm -> OFFER $NODE_IP file=${LOADER//./\\.} "
pxed_log_has "DHCP ACK to OVMF's PXE: arch=uefi-x64(93), fixed address, $LOADER" \
	"$M REQUEST arch=uefi-x64\\(93\\)( stage=pxe)? node=vm -> ACK $NODE_IP file=${LOADER//./\\.} "
size=$(stat -c %s "$T/tftp/$LOADER")
pxed_log_has "TFTP: OVMF fetched $LOADER ($size bytes) ok" \
	"tftp $NODE_IP:[0-9]+ \"$LOADER\": sent $size bytes .*: ok$"
# Second stage: that iPXE (still arch 7) gets boot-ipxe, expanded.
pxed_log_has "DHCP ACK to the chainloaded iPXE: arch=uefi-x64(93), boot-ipxe URL" \
	"$M REQUEST arch=uefi-x64\\(93\\)( stage=ipxe)? node=vm -> ACK $NODE_IP file=tftp://198\\.18\\.0\\.1/boot\\.ipxe "
for f in boot.ipxe vmlinuz initrd.img; do
	size=$(stat -c %s "$T/tftp/$f")
	pxed_log_has "TFTP: iPXE fetched $f ($size bytes) ok" \
		"tftp $NODE_IP:[0-9]+ \"$f\": sent $size bytes .*: ok$"
done
pxed_log_has "DHCP ACK to the node's udhcpc: its fixed address" \
	"$M REQUEST arch=bios\\(default\\)( stage=none)? node=vm -> ACK $NODE_IP "

# UEFI PXE asks for the size first (OACK, then ERROR 8 "User aborted the transfer": RFC 2347
# option negotiation refused); any other failed transfer is a failure.
if bad=$(grep -aE '"[^"]*": .*failed: ' "$PXED_LOG" | grep -v 'client sent error 8 '); then
	not_ok "no failed TFTP transfer" "$bad"
else
	ok "no failed TFTP transfer"
fi

serial_has "serial: OVMF started its PXE client" "Start PXE over IPv4"
serial_has "serial: iPXE ran the script from pxed (EFI platform, the node's address)" \
	"E2E-IPXE-SCRIPT efi $NODE_IP $NODE_HOST 198.18.0.1"
serial_has "serial: the node came up with the host name and address from DHCP" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
finish
