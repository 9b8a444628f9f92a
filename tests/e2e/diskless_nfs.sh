#!/bin/bash
# shellcheck disable=SC2154 # SER_<node>, UP_<node>, SECS_<node>: set by boot_nodes (printf -v)
# Issue 5, end-to-end scenarios 1 and 3: diskless nodes with NFS roots, all through pxed and real
# firmware (SeaBIOS + QEMU's iPXE ROM, PXE over the lab bridge; no direct kernel boot).
#
#   - A template root (tests/e2e/make-template-root.sh, etc/template-version = 1) and the NFS
#     node image (kernel + initramfs with the NFS modules and the nfsroot hook, nfslib.sh) in
#     pxed's HTTP root; a pxed configuration file with [diskless] (exports = ganesha, reload =
#     SIGHUP to the lab's ganesha by its pid file, nfs-options vers=4.1), a diskless = nfs
#     profile whose cmdline has no root= (pxed appends root=/dev/nfs nfsroot=${nfs-root},... ip=dhcp
#     rw) and two nodes with fixed addresses.
#   - ganesha runs in the lab namespace with the (still empty) exports file pxed will write;
#     `pxed diskless create node1|node2`, `pxed diskless exports` (writes the file, SIGHUPs
#     ganesha: it re-reads without errors) and `pxed check` all exit 0. Negative: `pxed check`
#     exits 1 for a stray directory under diskless.root and for a tree stamped for another node.
#   - Scenario 1: both VMs PXE-boot at once (DHCP + /boot/<mac>.ipxe + kernel + initrd from
#     pxed over HTTP), mount their own tree over NFSv4.1 and print DISKLESS-UP with their own
#     host name (from the tree pxed personalised) and root = their own export; each writes
#     /root-written-by-<node>, which must be in its own tree only (checked on the host).
#   - Scenario 3: the template changes (template-version 2, a new etc/template-note);
#     `pxed diskless sync node1 --dry-run` lists both and changes nothing; `pxed diskless sync
#     node1` applies them; node1 boots again: template-version=2, hostname=node1, the new file,
#     and the file it wrote on its first boot is still there.
#
# About 70-90 s under TCG on 2 cores (two VMs at once, then one).
#
#   PXED=build/pxed bash tests/e2e/diskless_nfs.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfslib.sh"

MAC1=52:54:00:e2:e6:21
MAC2=52:54:00:e2:e6:22
IP1=198.18.0.21
IP2=198.18.0.22
SRV=198.18.0.1
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
FAIL_RE="$VM_FAIL_RE|DISKLESS-FAILED"

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

# --- template, HTTP root, configuration ------------------------------------------------------
TEMPLATE="$T/template"
ROOT="$T/diskless" # diskless.root
HTTP="$T/http"
EXPORTS="$T/exports.conf"
GSTATE="$T/ganesha" # ganesha's config, log and pid file (nfslib.sh)
CONF="$T/pxed.conf"
TEMPLATE_VERSION=1 bash "$E2E_DIR/make-template-root.sh" "$TEMPLATE" >"$T/template.log" 2>&1 || {
	not_ok "template root builds" "$(cat "$T/template.log")"
	finish
}
lab_node_files "$HTTP" || {
	not_ok "node image copied to the HTTP root"
	finish
}
mkdir -p "$ROOT" "$T/state"
cat >"$CONF" <<EOF
# written by tests/e2e/diskless_nfs.sh
[server]
state-dir = $T/state
log-level = info

[dhcp]
mode = server
interfaces = br0

[subnet lab]
network = 198.18.0.0/24
range = 198.18.0.100 198.18.0.150

[tftp]
root = $HTTP
listen = $SRV:69

[http]
enabled = yes
listen = $SRV:80
root = $HTTP

[diskless]
root = $ROOT
nfs-server = $SRV
nfs-options = vers=4.1,proto=tcp,nolock
exports = ganesha
exports-file = $EXPORTS
exports-reload = kill -HUP \$(cat $GSTATE/ganesha.pid)

[profile nfs]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1 node.dhcp-tries=20 e2e.cfg=diskless-\${name}
diskless = nfs
template = $TEMPLATE

[node node1]
mac = $MAC1
ip = $IP1
profile = nfs

[node node2]
mac = $MAC2
ip = $IP2
profile = nfs
EOF
e2e_keep "$CONF"

# The rendered command line: pxed appends the NFS root to a cmdline without root=.
render=$("$PXED" render node1 -c "$CONF" --server "$SRV" 2>&1)
want="root=/dev/nfs nfsroot=$SRV:$ROOT/node1,vers=4.1,proto=tcp,nolock ip=dhcp rw"
if printf '%s\n' "$render" | grep -q "^kernel http://$SRV/vmlinuz .*e2e\.cfg=diskless-node1 $want\$"; then
	ok "pxed render node1: the iPXE script's kernel line ends with $want"
else
	not_ok "pxed render node1: the iPXE script's kernel line ends with $want" "$render"
fi

# --- lab, ganesha, trees, exports --------------------------------------------------------------
lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
: >"$EXPORTS" # ganesha %includes it; pxed fills it below and SIGHUPs
t0=$SECONDS
if ganesha_start "$LAB_NS" "$GSTATE" "$EXPORTS"; then
	ok "ganesha serves in the lab after $((SECONDS - t0)) s (pid $GANESHA_PID, no exports yet)"
else
	not_ok "ganesha serves in the lab"
	finish
fi

# run_pxed DESCRIPTION EXPECTED_RC OUTFILE ARGS...: one pxed command, its exit status checked.
run_pxed() {
	local desc=$1 want=$2 out=$3 rc
	shift 3
	timeout 60 "$PXED" "$@" >"$out" 2>&1
	rc=$?
	e2e_keep "$out"
	if [ "$rc" = "$want" ]; then
		ok "$desc (exit $rc)"
	else
		not_ok "$desc (exit $rc, expected $want)" "pxed $*:" "$(tail -n 20 "$out")"
	fi
	return $(( rc == want ? 0 : 1 ))
}

for n in node1 node2; do
	if run_pxed "pxed diskless create $n" 0 "$T/create-$n.out" diskless create "$n" -c "$CONF"; then
		sum=$(grep -E "^$n: [0-9]+ added" "$T/create-$n.out")
		note "  $sum"
		host=$(cat "$ROOT/$n/etc/hostname" 2>/dev/null)
		stamp=$(grep '^node=' "$ROOT/$n/etc/pxed-node" 2>/dev/null)
		if [ -x "$ROOT/$n/sbin/init" ] && [ "$host" = "$n" ] && [ "$stamp" = "node=$n" ] &&
			grep -qx '1' "$ROOT/$n/etc/template-version" &&
			grep -q "^$SRV:$ROOT/$n / nfs rw,vers=4.1" "$ROOT/$n/etc/fstab"; then
			ok "$n's tree: template copied, etc/hostname $n, stamp node=$n, fstab with its NFS root"
		else
			not_ok "$n's tree: template copied, etc/hostname $n, stamp node=$n, fstab with its NFS root" \
				"hostname: $host" "stamp: $stamp" "fstab: $(cat "$ROOT/$n/etc/fstab" 2>&1)"
		fi
	fi
done

from=$(($(wc -l <"$GANESHA_LOG") + 1))
run_pxed "pxed diskless exports (writes the ganesha file, runs the reload)" 0 "$T/exports.out" \
	diskless exports -c "$CONF"
check "pxed diskless exports: the reload command ran with status 0" \
	grep -q 'exit status 0' "$T/exports.out"
if grep -q "Path = \"$ROOT/node1\";" "$EXPORTS" && grep -q "Path = \"$ROOT/node2\";" "$EXPORTS" &&
	grep -qE "Clients = $IP1;" "$EXPORTS" && grep -qE "Clients = $IP2;" "$EXPORTS"; then
	ok "the exports file has both trees, each for its node's address"
else
	not_ok "the exports file has both trees, each for its node's address" "$(cat "$EXPORTS")"
fi
reread=
for _ in $(seq 1 50); do
	if tail -n "+$from" "$GANESHA_LOG" | grep -q 'Reread exports complete'; then
		reread=1
		break
	fi
	sleep 0.1
done
sleep 0.2
errs=$(ganesha_config_errors "$from")
if [ -n "$reread" ] && [ -z "$errs" ]; then
	ok "ganesha re-read the exports on pxed's SIGHUP, without configuration errors"
else
	not_ok "ganesha re-read the exports on pxed's SIGHUP, without configuration errors" \
		"${reread:-no 'Reread exports complete' in the log}" "$errs"
fi
run_pxed "pxed check: configuration and diskless trees consistent" 0 "$T/check.out" check -c "$CONF"

# Negative (no VM): a stray directory, then a tree stamped for another node.
mkdir "$ROOT/stray"
if run_pxed "pxed check with a stray directory under diskless.root" 1 "$T/check-stray.out" \
	check -c "$CONF"; then
	check "pxed check names the stray directory" \
		grep -qF "diskless: $ROOT/stray is no diskless node's tree" "$T/check-stray.out"
fi
rmdir "$ROOT/stray"
cp -p "$ROOT/node2/etc/pxed-node" "$T/node2.stamp"
sed -i 's/^node=node2$/node=node1/' "$ROOT/node2/etc/pxed-node"
if run_pxed "pxed check with node2's tree stamped for node1" 1 "$T/check-stamp.out" \
	check -c "$CONF"; then
	check "pxed check names the wrong stamp" \
		grep -qF "diskless: $ROOT/node2 is stamped for node node1" "$T/check-stamp.out"
fi
cp -p "$T/node2.stamp" "$ROOT/node2/etc/pxed-node"
run_pxed "pxed check after undoing both" 0 "$T/check-again.out" check -c "$CONF"

# --- pxed serve -------------------------------------------------------------------------------
start_pxed_conf "$CONF" 67 || {
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab"
	finish
}
if log_wait 'dhcp: DHCP server on' 10 >/dev/null; then
	ok "pxed serves DHCP, TFTP and HTTP in the lab (pid $PXED_PID)"
else
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab" "$(tail -n 10 "$PXED_LOG")"
	finish
fi
lab_capture_start || not_ok "tshark captures br0"

# boot_nodes NAME...: start one BIOS VM per node at once (the iPXE ROM PXE-boots), wait until
# each prints DISKLESS-UP (or fails, or ends), then until each powers off. Sets SER_<name>,
# UP_<name> (the marker line) and SECS_<name>.
boot_nodes() {
	local n mac pid left end
	declare -gA BN_PID=() BN_T0=()
	for n in "$@"; do
		mac=$MAC1
		[ "$n" = node2 ] && mac=$MAC2
		vm_start bios "$n-$BOOT" "$mac" || {
			not_ok "QEMU starts ($n)"
			return 1
		}
		BN_PID[$n]=$VM_PID
		BN_T0[$n]=$SECONDS
		printf -v "SER_$n" '%s' "$VM_SERIAL"
		printf -v "UP_$n" '%s' ""
		printf -v "SECS_$n" '%s' ""
	done
	end=$((SECONDS + VM_LIMIT))
	while :; do
		left=0
		for n in "$@"; do
			local ser="SER_$n" up="UP_$n" m
			[ -n "${!up}" ] && continue
			if m=$(_marker_in "${!ser}" "DISKLESS-UP |$FAIL_RE"); then
				printf -v "UP_$n" '%s' "$m"
				printf -v "SECS_$n" '%s' "$((SECONDS - BN_T0[$n]))"
				continue
			fi
			alive "${BN_PID[$n]}" && left=$((left + 1))
		done
		[ "$left" = 0 ] && break
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	for n in "$@"; do
		pid=${BN_PID[$n]}
		if vm_wait_exit 30 "$pid"; then
			ok "$n powered off"
		else
			local ser="SER_$n"
			not_ok "$n powered off" "QEMU (pid $pid) still runs; serial tail:" \
				"$(tail -n 5 "${!ser}" | tr -d '\r' | cut -c1-200)"
			vm_stop "$pid"
		fi
	done
}

# up_is NODE REGEX: the node's DISKLESS-UP line matches REGEX.
up_is() {
	local n=$1 re=$2 up="UP_$1" secs="SECS_$1" ser="SER_$1"
	if [ -n "${!up}" ] && printf '%s\n' "${!up}" | grep -qE -- "$re" &&
		! printf '%s\n' "${!up}" | grep -qE -- "$FAIL_RE"; then
		ok "$n: DISKLESS-UP from its own tree after ${!secs} s ($E2E_ACCEL, boot $BOOT)"
		note "  ${!up}"
	else
		not_ok "$n: DISKLESS-UP matching: $re (within $VM_LIMIT s, $E2E_ACCEL, boot $BOOT)" \
			"${!up:+got: ${!up}}" "serial (last 15 lines):" \
			"$(tail -n 15 "${!ser}" | tr -d '\r' | cut -c1-200)"
	fi
}

# --- scenario 1: two nodes at once ------------------------------------------------------------
BOOT=1
boot_nodes node1 node2
for n in node1 node2; do
	ip=$IP1 mac=$MAC1
	[ $n = node2 ] && ip=$IP2 mac=$MAC2
	ser="SER_$n"
	up_is $n "^DISKLESS-UP hostname=$n root=$SRV:$ROOT/$n fstype=nfs4 template-version=1\$"
	serial_has "$n: the kernel runs pxed's rendered command line" \
		"Command line: .*e2e\.cfg=diskless-$n root=/dev/nfs nfsroot=$SRV:$ROOT/$n,vers=4\.1,proto=tcp,nolock ip=dhcp rw" \
		"${!ser}"
	serial_has "$n: the hook mounted its export (nfsroot= from pxed) read-write" \
		"node: nfsroot $SRV:$ROOT/$n \(from nfsroot=\), options .*vers=4\.1.*, rw" "${!ser}"
	serial_has "$n: wrote its file" "diskless: wrote /root-written-by-$n" "${!ser}"
	pxed_log_has "pxed: DHCP ACK $ip to $n (iPXE ROM) with its script URL" \
		"dhcp $mac REQUEST .*node=$n -> ACK ${ip//./\\.} file=http://198\.18\.0\.1/boot/$(mac_path_re "$mac")\.ipxe"
	pxed_log_has "pxed: $n fetched /boot/<mac>.ipxe over HTTP" \
		"http ${ip//./\\.}:[0-9]+ \"GET /boot/$(mac_path_re "$mac")\.ipxe\" 200 "
	for f in vmlinuz initrd.img; do
		size=$(stat -c %s "$HTTP/$f")
		pxed_log_has "pxed: $n fetched $f ($size bytes)" \
			"http ${ip//./\\.}:[0-9]+ \"GET /$f\" 200 $size bytes"
	done
done

# Host side: each file in its own tree only, written as root (no_root_squash).
for n in node1 node2; do
	f="$ROOT/$n/root-written-by-$n"
	if [ -s "$f" ] && [ "$(stat -c %u "$f")" = 0 ]; then
		ok "$n's tree has root-written-by-$n (root-owned: $(tr -d '\n' <"$f"))"
	else
		not_ok "$n's tree has root-written-by-$n, owned by root" "$(ls -la "$ROOT/$n" 2>&1)"
	fi
done
stray=$(cd "$ROOT" && ls -d node1/root-written-by-node2 node2/root-written-by-node1 \
	"$TEMPLATE"/root-written-by-* 2>/dev/null)
check_eq "no node wrote into another tree (or the template)" "" "$stray"
FIRST1=$(cat "$ROOT/node1/root-written-by-node1" 2>/dev/null)
B1_SECS="node1 ${SECS_node1:-?} s, node2 ${SECS_node2:-?} s"

# --- scenario 3: template update, sync, boot again ----------------------------------------------
echo 2 >"$TEMPLATE/etc/template-version"
echo "added in template v2" >"$TEMPLATE/etc/template-note"
snap() { (cd "$ROOT/node1" && find . -printf '%p %y %s %m %T@\n' | sort) | md5sum; }
before=$(snap)
if run_pxed "pxed diskless sync node1 --dry-run" 0 "$T/sync-dry.out" \
	diskless sync node1 --dry-run -c "$CONF"; then
	note "  $(grep -E '^node1: ' "$T/sync-dry.out")"
	if grep -qx 'M etc/template-version' "$T/sync-dry.out" &&
		grep -qx '+ etc/template-note' "$T/sync-dry.out" &&
		grep -qE '^node1: 1 added, 1 updated, 0 deleted.*\(dry run: nothing changed\)' "$T/sync-dry.out"; then
		ok "sync --dry-run lists M etc/template-version and + etc/template-note (1 added, 1 updated)"
	else
		not_ok "sync --dry-run lists M etc/template-version and + etc/template-note (1 added, 1 updated)" \
			"$(cat "$T/sync-dry.out")"
	fi
	if grep -qE '^[+M-] (etc/hostname|etc/hosts|etc/fstab|etc/pxed-node|root-written-by)' "$T/sync-dry.out"; then
		not_ok "sync --dry-run leaves the node's own files alone" "$(cat "$T/sync-dry.out")"
	else
		ok "sync --dry-run leaves the node's own files alone"
	fi
fi
check_eq "sync --dry-run changed nothing in node1's tree" "$before" "$(snap)"
check_eq "node1's tree still has template-version 1" "1" "$(cat "$ROOT/node1/etc/template-version")"
if run_pxed "pxed diskless sync node1" 0 "$T/sync.out" diskless sync node1 -c "$CONF"; then
	note "  $(grep -E '^node1: ' "$T/sync.out")"
	check "sync: 1 added, 1 updated" grep -qE '^node1: 1 added, 1 updated, 0 deleted' "$T/sync.out"
fi
check_eq "node1's tree: template-version 2" "2" "$(cat "$ROOT/node1/etc/template-version" 2>&1)"
check_eq "node1's tree: etc/hostname still node1" "node1" "$(cat "$ROOT/node1/etc/hostname" 2>&1)"
check_eq "node2's tree untouched (template-version 1)" "1" "$(cat "$ROOT/node2/etc/template-version" 2>&1)"
run_pxed "pxed diskless sync node1 again: nothing to do" 0 "$T/sync-again.out" \
	diskless sync node1 -c "$CONF"
if grep -qE '^[+M-] ' "$T/sync-again.out"; then
	not_ok "the second sync prints no + M - lines (idempotent)" "$(cat "$T/sync-again.out")"
else
	ok "the second sync prints no + M - lines (idempotent)"
fi
run_pxed "pxed check after the sync" 0 "$T/check-sync.out" check -c "$CONF"

BOOT=2
boot_nodes node1
up_is node1 "^DISKLESS-UP hostname=node1 root=$SRV:$ROOT/node1 fstype=nfs4 template-version=2\$"
serial_has "node1 (boot 2): sees the file the template gained" \
	'diskless: template-note added in template v2' "$SER_node1"
serial_has "node1 (boot 2): its file from the first boot is still there" \
	"diskless: found /root-written-by-node1 from an earlier boot: ${FIRST1:-?}" "$SER_node1"
n_acks=$(log_count "dhcp $MAC1 REQUEST .*node=node1 -> ACK ${IP1//./\\.} file=http://198\.18\.0\.1/boot/")
check "pxed ACKed node1 with its script URL again (boot 2; $n_acks ACKs in all)" [ "$n_acks" -ge 2 ]
n_scripts=$(log_count "http ${IP1//./\\.}:[0-9]+ \"GET /boot/$(mac_path_re "$MAC1")\.ipxe\" 200 ")
check_eq "pxed served node1's script twice (two boots)" 2 "$n_scripts"
if [ -f "$ROOT/node1/root-written-by-node1" ] && [ ! -e "$ROOT/node2/root-written-by-node1" ]; then
	ok "node1's file is still (only) in its tree after sync and boot 2"
else
	not_ok "node1's file is still (only) in its tree after sync and boot 2" "$(ls -la "$ROOT/node1")"
fi

ganesha_stop
note "VM start to DISKLESS-UP ($E2E_ACCEL, PXE): boot 1 (two at once) $B1_SECS;" \
	"boot 2 node1 ${SECS_node1:-?} s"
finish
