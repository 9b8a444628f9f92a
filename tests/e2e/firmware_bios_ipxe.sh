#!/bin/bash
# Real firmware, BIOS: QEMU `-machine pc` (SeaBIOS) with its e1000 iPXE option ROM (package
# ipxe-qemu) boots from the network against pxed as DHCP server + TFTP in a lab namespace.
# QEMU's BIOS ROM is iPXE, so its first DHCP is already the iPXE stage (user class iPXE):
# pxed must give it boot-ipxe (boot.ipxe, a plain name: iPXE fetches it from next-server over
# TFTP), never undionly.kpxe. The script echoes a marker and boots the node image (Debian kernel
# + busybox initramfs) over TFTP; the node's udhcpc gets its fixed address and host name from
# the [node] and prints NODE-UP. One VM boot (about 60-120 s under TCG).
#
#   PXED=build/pxed bash tests/e2e/firmware_bios_ipxe.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e0:21
NODE_IP=198.18.0.21
NODE_HOST=e2e-bios-node
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
e2e_node_image || {
	not_ok "node image builds"
	finish
}
ok "node image: $NODE_DIR"

mkdir -p "$T/tftp"
cp "$NODE_DIR/vmlinuz" "$NODE_DIR/initrd.img" /usr/lib/ipxe/undionly.kpxe "$T/tftp/"
cat >"$T/tftp/boot.ipxe" <<'EOF'
#!ipxe
echo E2E-IPXE-SCRIPT ${platform} ${ip} ${hostname} ${next-server}
kernel vmlinuz console=ttyS0 panic=-1 initrd=initrd.img || goto failed
initrd initrd.img || goto failed
boot || goto failed
:failed
echo E2E-IPXE-FAILED
exit 1
EOF

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
lab_pxed_server \
	-o dhcp.boot-bios=undionly.kpxe \
	-o dhcp.boot-uefi-x64=snponly.efi \
	-o dhcp.boot-ipxe=boot.ipxe \
	-o node.vm.mac=$MAC -o node.vm.ip=$NODE_IP -o node.vm.hostname=$NODE_HOST || {
	not_ok "pxed serves DHCP and TFTP in the lab"
	finish
}
ok "pxed serves DHCP and TFTP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

start=$(date +%s)
vm_start bios bios "$MAC" || {
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

# What pxed decided: the iPXE ROM is the first stage (it sends option 93 = 0 and user class
# iPXE) and gets boot-ipxe with the node's fixed address; the node's udhcpc (no option 93:
# arch from the default) gets the same address.
M="dhcp $MAC"
pxed_log_has "DHCP OFFER to the iPXE ROM: arch=bios(93), fixed address, boot-ipxe" \
	"$M DISCOVER arch=bios\(93\)( stage=ipxe)? node=vm -> OFFER $NODE_IP file=boot\.ipxe "
pxed_log_has "DHCP ACK to the iPXE ROM: arch=bios(93), fixed address, boot-ipxe" \
	"$M REQUEST arch=bios\(93\)( stage=ipxe)? node=vm -> ACK $NODE_IP file=boot\.ipxe "
if bad=$(grep -aE "$M .*arch=[^ ]*\(93\).*file=[^ ]*(\.kpxe|\.kkpxe|ipxe\.efi|snponly\.efi) " "$PXED_LOG"); then
	not_ok "the iPXE ROM is never offered an iPXE binary" "$bad"
else
	ok "the iPXE ROM is never offered an iPXE binary"
fi
pxed_log_has "DHCP ACK to the node's udhcpc: its fixed address" \
	"$M REQUEST arch=bios\(default\)( stage=none)? node=vm -> ACK $NODE_IP "
for f in boot.ipxe vmlinuz initrd.img; do
	size=$(stat -c %s "$T/tftp/$f")
	pxed_log_has "TFTP: iPXE fetched $f ($size bytes) ok" \
		"tftp $NODE_IP:[0-9]+ \"$f\": sent $size bytes .*: ok$"
done

# UEFI PXE asks for the size first (OACK, then ERROR 8 "User aborted the transfer": RFC 2347
# option negotiation refused); any other failed transfer is a failure.
if bad=$(grep -aE '"[^"]*": .*failed: ' "$PXED_LOG" | grep -v 'client sent error 8 '); then
	not_ok "no failed TFTP transfer" "$bad"
else
	ok "no failed TFTP transfer"
fi

# What the firmware and the node saw.
serial_has "serial: iPXE ran the script from pxed (BIOS platform, the node's address)" \
	"E2E-IPXE-SCRIPT pcbios $NODE_IP $NODE_HOST 198.18.0.1"
serial_has "serial: the node came up with the host name and address from DHCP" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
finish
