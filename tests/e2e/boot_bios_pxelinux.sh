#!/bin/bash
# Issue 4, scenarios 1 and 5 in one run (two VMs at once):
#
# 1. BIOS PXE -> pxelinux.0 -> the rendered pxelinux.cfg/01-<mac> -> kernel + initrd over TFTP.
#    The node's profile has loader = pxelinux. QEMU's BIOS ROM is iPXE, which chainloads
#    pxelinux.0 (not an iPXE binary) when DHCP names it (the node's boot-ipxe; a plain PXE ROM
#    gets it from the profile, as `pxed render` shows); pxelinux then runs over the ROM's PXE
#    API (its own TFTP requests: ldlinux.c32, pxelinux.cfg/..., the kernel, the initrd). The
#    TFTP root also holds a *real* pxelinux.cfg/default that boots the same kernel with
#    node.marker=WRONG-DEFAULT e2e.cfg=default: the node must come up with the command line of
#    its rendered 01-<mac> (e2e.cfg=rendered-pxl), which proves pxelinux's per-MAC lookup hits
#    pxed's renderer before it falls through to `default`.
# 5. An unknown MAC with unknown-clients = deny boots nothing: pxed logs the drop, the VM's
#    serial shows no NODE-UP while the known node boots next to it.
#
# About 60-100 s under TCG.
#
#   PXED=build/pxed bash tests/e2e/boot_bios_pxelinux.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e4:31
NODE_IP=198.18.0.31
NODE_HOST=e2e-pxl-node
MAC_X=52:54:00:e2:e4:99 # no [node]: denied
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
e2e_node_image || {
	not_ok "node image builds"
	finish
}
ok "node image: $NODE_DIR"

TFTP="$T/tftp"
lab_node_files "$TFTP"
lab_pxelinux_files "$TFTP"
mkdir -p "$TFTP/pxelinux.cfg"
cat >"$TFTP/pxelinux.cfg/default" <<'EOF'
# a real file: what a machine gets when pxelinux falls through to "default"
DEFAULT wrong
PROMPT 0
TIMEOUT 1
LABEL wrong
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 panic=-1 node.marker=WRONG-DEFAULT e2e.cfg=default
EOF

# The profile implies pxelinux.0 for BIOS PXE ROMs (shown by `pxed render`). The ROM here is
# iPXE, which gets the iPXE stage's file: the node's boot-ipxe = pxelinux.0 makes it load
# pxelinux.0 as a plain PXE ROM would (pxelinux.0 is not an iPXE binary).
OPTS=(
	-o subnet.lab.unknown-clients=deny
	-o profile.pxl.kernel=vmlinuz -o profile.pxl.initrd=initrd.img
	-o 'profile.pxl.cmdline=console=ttyS0 panic=-1 e2e.cfg=rendered-${name}'
	-o profile.pxl.loader=pxelinux
	-o "node.pxl.mac=$MAC" -o "node.pxl.ip=$NODE_IP" -o "node.pxl.hostname=$NODE_HOST"
	-o node.pxl.profile=pxl
)

# What pxed would send, before anything runs.
render=$("$PXED" render pxl --server 198.18.0.1 -o tftp.root="$TFTP" \
	-o server.state-dir="$T/render-state" -o dhcp.mode=server \
	-o subnet.lab.network=198.18.0.0/24 "${OPTS[@]}" 2>&1)
if printf '%s\n' "$render" | grep -q '== DHCP (bios): ip 198.18.0.31, next-server 198.18.0.1, file pxelinux.0' &&
	printf '%s\n' "$render" | grep -q 'rule: profile pxl (loader pxelinux)'; then
	ok "pxed render: a BIOS PXE ROM gets pxelinux.0 from the profile's loader"
else
	not_ok "pxed render: a BIOS PXE ROM gets pxelinux.0 from the profile's loader" "$render"
fi
if printf '%s\n' "$render" | grep -qx '  APPEND console=ttyS0 panic=-1 e2e.cfg=rendered-pxl'; then
	ok "pxed render: pxelinux.cfg/01-<mac> has the profile's expanded command line"
else
	not_ok "pxed render: pxelinux.cfg/01-<mac> has the profile's expanded command line" "$render"
fi

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
# Debug level: pxed logs dropped requests (the unknown machine's) only there.
PXED_LOG_LEVEL=debug
lab_pxed_server "${OPTS[@]}" -o node.pxl.boot-ipxe=pxelinux.0 || {
	not_ok "pxed serves DHCP and TFTP in the lab"
	finish
}
ok "pxed serves DHCP and TFTP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

# The unknown machine first (it only has to be denied), then the node.
vm_start bios unknown "$MAC_X" || {
	not_ok "QEMU starts (unknown machine)"
	finish
}
X_PID=$VM_PID X_SERIAL=$VM_SERIAL
vm_start bios pxl "$MAC" || {
	not_ok "QEMU starts"
	finish
}
vm_boot_to "the node reached NODE-UP" 'NODE-UP ' "$VM_LIMIT" "$VM_FAIL_RE|WRONG-DEFAULT" &&
	{ vm_wait_exit 30 && ok "the node powered off" ||
		not_ok "the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"; }

# --- scenario 1: what pxed decided and served -------------------------------------------------
M="dhcp $MAC"
pxed_log_has "DHCP ACK to the node's ROM: fixed address, pxelinux.0 (node boot-ipxe)" \
	"$M REQUEST arch=bios\(93\) stage=ipxe node=pxl -> ACK $NODE_IP file=pxelinux\.0 "
for f in pxelinux.0 ldlinux.c32; do
	size=$(stat -c %s "$TFTP/$f")
	pxed_log_has "TFTP: $f ($size bytes) ok" "tftp $NODE_IP:[0-9]+ \"$f\": sent $size bytes .*: ok$"
done
pxed_log_has "pxelinux.cfg/01-<mac> rendered for the node" \
	"boot: pxelinux \"pxelinux\.cfg/01-52-54-00-e2-e4-31\" rendered for pxl "
pxed_log_has "TFTP: the rendered 01-<mac> sent ok" \
	"tftp $NODE_IP:[0-9]+ \"pxelinux\.cfg/01-52-54-00-e2-e4-31\": sent [0-9]+ bytes .*: ok$"
pxed_log_lacks "the real pxelinux.cfg/default was never sent" '"pxelinux\.cfg/default": sent'
for f in vmlinuz initrd.img; do
	size=$(stat -c %s "$TFTP/$f")
	pxed_log_has "TFTP: pxelinux fetched $f ($size bytes) ok" \
		"tftp $NODE_IP:[0-9]+ \"$f\": sent $size bytes .*: ok$"
done
no_failed_tftp
serial_has "serial: the kernel runs with the rendered command line" \
	'Command line: .*e2e\.cfg=rendered-pxl'
serial_lacks "serial: nothing from pxelinux.cfg/default" 'WRONG-DEFAULT|e2e\.cfg=default'
serial_has "serial: the node came up with the host name and address from DHCP" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
status_has "pxed status pxl: the DHCP ACK with pxelinux.0" pxl 'dhcp.*pxelinux\.0'
status_has "pxed status pxl: the rendered config in the timeline" pxl \
	'pxelinux\.cfg/01-52-54-00-e2-e4-31 .*rendered'
status_has "pxed status pxl: the initrd in the timeline" pxl 'tftp +initrd\.img [0-9]+ bytes'

# --- scenario 5: the unknown machine ----------------------------------------------------------
# Its ROM keeps asking while the node boots; bounded: at most 60 s after it started.
wait_marker "$X_SERIAL" 'No configuration methods succeeded|NODE-UP' 5 "$X_PID" >/dev/null
pxed_log_has "the unknown MAC's DISCOVER is dropped (unknown-clients = deny)" \
	"dhcp $MAC_X DISCOVER .*-> dropped .*unknown client \(unknown-clients = deny\)"
pxed_log_lacks "the unknown MAC never gets an OFFER or ACK" "dhcp $MAC_X .*-> (OFFER|ACK)"
serial_lacks "serial (unknown machine): no NODE-UP" 'NODE-UP' "$X_SERIAL"
serial_has "serial (unknown machine): its ROM found no DHCP answer" \
	'No configuration methods succeeded|Nothing to boot|No more network devices|DHCP.*(timed out|Connection timed out)' \
	"$X_SERIAL"
if pxed_status | grep -qi "$MAC_X"; then
	not_ok "pxed status lists no timeline for the unknown machine" "$(pxed_status)"
else
	ok "pxed status lists no timeline for the unknown machine"
fi
vm_stop "$X_PID"
finish
