#!/bin/bash
# Diskless lab probe: two nodes boot their root file systems over NFS from nfs-ganesha (this
# host's kernel has no nfsd) at the same time, each from its own per-node tree that only it may
# mount, and run that tree's /sbin/init.
#
#   - Two trees from tests/e2e/make-template-root.sh, /etc/hostname node1 and node2, exported
#     by ganesha (tests/e2e/nfslib.sh) RW only to 198.18.0.21 and .22 (Pseudo /node1, /node2),
#     plus a shared tree exported RO to 198.18.0.0/24.
#   - pxed gives the nodes their addresses and (node2) the DHCP root-path; the VMs boot the
#     Debian kernel directly (-kernel/-initrd: no firmware PXE here, the diskless test proper
#     does that) with the nfsroot initramfs (tests/e2e/node-nfsroot):
#       node1: nfsroot=198.18.0.1:/node1,vers=4.1 rw        (NFSv4.1: port 2049 only)
#       node2: root=/dev/nfs rw + DHCP root-path 198.18.0.1:/node2,vers=3  (NFSv3 via rpcbind)
#   - Each prints DISKLESS-UP hostname=<its tree's name> root=198.18.0.1:/nodeN, writes
#     /root-written-by-nodeN into its root and powers off: the file must be in its own tree only.
#   - Access control: MOUNT calls from client namespaces (.21 may mount /node1, not /node2; .23
#     neither), and node1 booted again with nfsroot=...:/node2 fails with NODE-FAILED nfsroot.
#   - ganesha_reload: an export added to the exports file and SIGHUP while node1 has its root
#     mounted (it holds 8 s before writing): node1 writes afterwards, the new export is
#     mountable without a restart; removed and SIGHUP: refused.
#
# About 60-120 s under TCG on 2 cores.
#
#   PXED=build/pxed bash tests/e2e/nfs_probe.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfslib.sh"

MAC1=52:54:00:e2:e5:21
MAC2=52:54:00:e2:e5:22
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
SRV=198.18.0.1

e2e_require
nfs_require || {
	echo "# cannot install $NFS_PKGS" >&2
	exit 1
}
command -v ganesha.nfsd >/dev/null || {
	not_ok "ganesha.nfsd is installed (nfs-ganesha)"
	finish
}
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
nfs_node_image || {
	not_ok "node image with the nfsroot hook builds"
	finish
}
ok "node image with the nfsroot hook: $NODE_DIR"

# --- the trees and the exports ----------------------------------------------------------------
TREES="$T/diskless"
bash "$E2E_DIR/make-template-root.sh" "$TREES/template" || {
	not_ok "template root builds"
	finish
}
for n in node1 node2; do
	cp -a "$TREES/template" "$TREES/$n"
	echo "$n" >"$TREES/$n/etc/hostname"
done
echo "probe-1" >"$TREES/node2/etc/template-version"
cp -a "$TREES/template" "$TREES/shared"
mkdir -p "$TREES/node3"
ok "trees node1, node2 (template-version probe-1), shared in $TREES"

EXPORTS="$T/exports.conf" # what pxed will generate
{
	nfs_export_block 1 "$TREES/node1" /node1 198.18.0.21 RW
	nfs_export_block 2 "$TREES/node2" /node2 198.18.0.22 RW
	nfs_export_block 100 "$TREES/shared" /shared 198.18.0.0/24 RO
} >"$EXPORTS"

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
# A bridge without an address set takes the lowest MAC of its ports: every tap or veth added
# (or removed) may change br0's MAC, and a client with the old one in its ARP cache sends into
# the void until it re-ARPs (seen: 15 s of unanswered SYNs from .23). Pin it.
ip -n "$LAB_NS" link set br0 address 52:54:00:e2:e5:01
OPTS=(
	-o "node.n1.mac=$MAC1" -o node.n1.ip=198.18.0.21 -o node.n1.hostname=dhcp-n1
	-o "node.n2.mac=$MAC2" -o node.n2.ip=198.18.0.22 -o node.n2.hostname=dhcp-n2
	-o "node.n2.root-path=$SRV:/node2,vers=3"
)
lab_pxed_server "${OPTS[@]}" || {
	not_ok "pxed serves DHCP in the lab"
	finish
}
ok "pxed serves DHCP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

t0=$SECONDS
if ganesha_start "$LAB_NS" "$T/ganesha" "$EXPORTS"; then
	ok "ganesha serves NFSv3+v4 in the lab after $((SECONDS - t0)) s (pid $GANESHA_PID)"
else
	not_ok "ganesha serves NFSv3+v4 in the lab"
	finish
fi
if grep -q 'skipping GRACE (Graceless is true)' "$GANESHA_LOG"; then
	ok "ganesha: no grace period"
else
	not_ok "ganesha: no grace period" "$(grep -i grace "$GANESHA_LOG" | tail -n 3)"
fi

# --- exports are restricted by client address (MOUNT calls, no VM) -----------------------------
# .21 with node1's MAC (its ARP entry stays right for the VM later); .23 is nobody's.
# (not in $(...): lab_client_ns registers the namespace for cleanup in this shell)
if ! lab_client_ns c21 "$MAC1" 198.18.0.21 >/dev/null ||
	! lab_client_ns c23 52:54:00:e2:e5:23 198.18.0.23 >/dev/null; then
	not_ok "client namespaces"
	finish
fi
C21="c21-$$" C23="c23-$$"
mnt_is() { # DESCRIPTION NS PATH EXPECTED
	local got
	got=$(nfs_mnt_check "$2" "$SRV" "$3")
	check_eq "$1" "$4" "$got"
}
mnt_is "MOUNT /node1 from .21: ok" "$C21" /node1 ok
mnt_is "MOUNT /node2 from .21: access denied (13)" "$C21" /node2 "error 13"
mnt_is "MOUNT /node1 from .23: access denied (13)" "$C23" /node1 "error 13"
mnt_is "MOUNT /shared from .23: ok (RO to the subnet)" "$C23" /shared ok
mnt_is "MOUNT /node3 from .23 before it is exported: refused" "$C23" /node3 "error 13"
ip netns del "$C21"
ip -n "$LAB_NS" neigh flush all

# --- two nodes at once ------------------------------------------------------------------------
KARGS=(-kernel "$NODE_DIR/vmlinuz" -initrd "$NODE_DIR/initrd.img")
BASE="console=ttyS0 panic=-1 node.dhcp-tries=20"
export VM_ROMFILE= # no iPXE ROM: the kernel is booted directly
# node1 holds 8 s between DISKLESS-UP and writing its file: the exports are reloaded then.
vm_start bios node1 "$MAC1" "${KARGS[@]}" \
	-append "$BASE rw nfsroot=$SRV:/node1,vers=4.1 diskless.hold=8" || {
	not_ok "QEMU starts (node1)"
	finish
}
P1=$VM_PID S1=$VM_SERIAL T1=$SECONDS
vm_start bios node2 "$MAC2" "${KARGS[@]}" -append "$BASE rw root=/dev/nfs" || {
	not_ok "QEMU starts (node2)"
	finish
}
P2=$VM_PID S2=$VM_SERIAL T2=$SECONDS

RE1='DISKLESS-UP hostname=node1 '
RE2='DISKLESS-UP hostname=node2 '
FAIL_RE="$VM_FAIL_RE|DISKLESS-FAILED"
D1='' D2='' M1='' M2='' RELOAD_RC='' WROTE_BEFORE_RELOAD=
end=$((SECONDS + VM_LIMIT))
while [ -z "$D1" ] || [ -z "$D2" ]; do
	if [ -z "$D1" ] && M1=$(_marker_in "$S1" "$RE1|$FAIL_RE"); then D1=$((SECONDS - T1)); fi
	if [ -n "$D1" ] && [ -z "$RELOAD_RC" ]; then
		# node1 has its root mounted and holds: add node3's export and SIGHUP now.
		nfs_export_block 3 "$TREES/node3" /node3 198.18.0.23 RW >>"$EXPORTS"
		ganesha_reload 10
		RELOAD_RC=$?
		WROTE_BEFORE_RELOAD=$(_marker_in "$S1" 'diskless: wrote')
	fi
	if [ -z "$D2" ] && M2=$(_marker_in "$S2" "$RE2|$FAIL_RE"); then D2=$((SECONDS - T2)); fi
	# A VM that ended without its marker will not print it any more.
	if [ -z "$D1" ] && ! alive "$P1" && ! _marker_in "$S1" "$RE1|$FAIL_RE" >/dev/null; then break; fi
	if [ -z "$D2" ] && ! alive "$P2" && ! _marker_in "$S2" "$RE2|$FAIL_RE" >/dev/null; then break; fi
	[ "$SECONDS" -ge "$end" ] && break
	sleep 0.5
done
node_result() { # NAME MARKER SECS SERIAL EXPECTED_RE
	if [ -n "$3" ] && printf '%s\n' "$2" | grep -qE -- "$5" &&
		! printf '%s\n' "$2" | grep -qE -- "$FAIL_RE"; then
		ok "$1: DISKLESS-UP from its own tree after $3 s ($E2E_ACCEL)"
		note "  $2"
	else
		not_ok "$1: DISKLESS-UP from its own tree within $VM_LIMIT s ($E2E_ACCEL)" \
			"${2:+got: $2}" "serial (last 15 lines):" \
			"$(tail -n 15 "$4" | tr -d '\r' | cut -c1-200)"
	fi
}
node_result node1 "$M1" "$D1" "$S1" "${RE1}root=$SRV:/node1 fstype=nfs4"
node_result node2 "$M2" "$D2" "$S2" "${RE2}root=$SRV:/node2 fstype=nfs template-version=probe-1"
for n in 1 2; do
	pid=$P1 serial=$S1
	[ $n = 2 ] && pid=$P2 serial=$S2
	if vm_wait_exit 30 "$pid"; then
		ok "node$n powered off"
	else
		not_ok "node$n powered off" "QEMU (pid $pid) still runs; serial tail:" \
			"$(tail -n 5 "$serial" | tr -d '\r')"
		vm_stop "$pid"
	fi
done
serial_has "node1: mounted with NFSv4.1 from nfsroot=" \
	'node: nfsroot 198\.18\.0\.1:/node1 \(from nfsroot=\), options .*vers=4\.1, rw' "$S1"
serial_has "node2: mounted with NFSv3 from the DHCP root-path" \
	'node: nfsroot 198\.18\.0\.1:/node2 \(from DHCP root-path\), options .*vers=3, rw' "$S2"
serial_has "node1: the kernel's view: nfs4 vers=4.1" 'nfsroot mounted: .* /newroot nfs4 rw,.*vers=4\.1' "$S1"
serial_has "node2: the kernel's view: nfs vers=3" 'nfsroot mounted: .* /newroot nfs rw,.*vers=3' "$S2"
serial_has "node1: wrote its file" 'diskless: wrote /root-written-by-node1' "$S1"
if [ "$RELOAD_RC" = 0 ] && [ -z "$WROTE_BEFORE_RELOAD" ]; then
	ok "ganesha_reload (export added) while node1's root was mounted; node1 wrote after it"
else
	not_ok "ganesha_reload (export added) while node1's root was mounted; node1 wrote after it" \
		"reload rc: ${RELOAD_RC:-never ran}" "${WROTE_BEFORE_RELOAD:+node1 wrote before the reload}"
fi
serial_has "node2: wrote its file" 'diskless: wrote /root-written-by-node2' "$S2"

# Host side: each file in its own tree only, written as root (no_root_squash).
for n in node1 node2; do
	f="$TREES/$n/root-written-by-$n"
	if [ -s "$f" ] && [ "$(stat -c %u "$f")" = 0 ]; then
		ok "$n's tree has root-written-by-$n (root-owned: $(tr -d '\n' <"$f"))"
	else
		not_ok "$n's tree has root-written-by-$n, owned by root" "$(ls -la "$TREES/$n")"
	fi
done
stray=$(cd "$TREES" && ls -d node1/root-written-by-node2 node2/root-written-by-node1 \
	template/root-written-by-* shared/root-written-by-* 2>/dev/null)
check_eq "no node wrote into another tree" "" "$stray"

# --- node1 may not mount node2's tree ---------------------------------------------------------
vm_start bios node1-denied "$MAC1" "${KARGS[@]}" \
	-append "$BASE rw nfsroot=$SRV:/node2,vers=4.1 node.nfs-tries=1" || {
	not_ok "QEMU starts (node1 for /node2)"
	finish
}
vm_boot_to "node1 booted with nfsroot=...:/node2 gets NODE-FAILED nfsroot" \
	'NODE-FAILED nfsroot: mount 198\.18\.0\.1:/node2 failed' "$VM_LIMIT" \
	'DISKLESS-UP|Kernel panic|NODE-UP ' && if vm_wait_exit 30; then
	ok "node1 (denied) powered off"
else
	not_ok "node1 (denied) powered off" "QEMU still runs"
fi
vm_stop
check_eq "node2's tree has only its own root-written file" "$TREES/node2/root-written-by-node2" \
	"$(echo "$TREES"/node2/root-written-by-*)"

# --- SIGHUP re-reads the exports ----------------------------------------------------------------
mnt_is "MOUNT /node3 from .23 after adding it and SIGHUP: ok" "$C23" /node3 ok
nfs_export_remove "$EXPORTS" 3
if grep -q 'Export_Id = 3;' "$EXPORTS"; then
	not_ok "export 3 removed from the exports file" "$(cat "$EXPORTS")"
fi
if ganesha_reload 10; then ok "ganesha_reload (export removed)"; else
	not_ok "ganesha_reload (export removed)"; fi
mnt_is "MOUNT /node3 from .23 after removing it and SIGHUP: refused" "$C23" /node3 "error 13"
mnt_is "MOUNT /shared from .23 still ok after two reloads" "$C23" /shared ok
if alive "$GANESHA_PID"; then ok "ganesha still runs after the reloads"; else
	not_ok "ganesha still runs after the reloads"; fi

ganesha_stop
if grep -q 'NFS EXIT: regular exit' "$GANESHA_LOG"; then
	ok "ganesha_stop: ganesha exited cleanly"
else
	not_ok "ganesha_stop: ganesha exited cleanly" "$(tail -n 5 "$GANESHA_LOG")"
fi
note "boot to DISKLESS-UP ($E2E_ACCEL, two VMs at once): node1 (v4.1) ${D1:-?} s, node2 (v3) ${D2:-?} s"
finish
