#!/bin/bash
# The demo lab: pxed network-boots three virtual machines, each through a different chain, on
# a private network it builds and tears down itself.
#
#   demo-bios  BIOS (SeaBIOS + QEMU's iPXE ROM) -> pxelinux.0 -> pxelinux.cfg/01-<mac>
#              (rendered by pxed) -> kernel + initrd over TFTP
#   demo-uefi  UEFI (OVMF's own PXE client) -> ipxe.efi over TFTP -> iPXE script (rendered)
#              over HTTP -> kernel + initrd over HTTP
#   demo-ipxe  BIOS (QEMU's iPXE ROM) -> iPXE script over HTTP -> kernel + initrd over HTTP
#
# Each machine boots a small Linux (the Debian kernel and a busybox initramfs) that gets its
# address by DHCP and prints `NODE-UP hostname=... ip=...`. pxed runs as DHCP server (unknown
# machines denied), TFTP and HTTP server in a network namespace with a bridge holding
# 198.18.0.1/24; nothing touches the host's network. While the machines boot, a table shows
# each node's last event from `pxed status`; at the end each node's timeline is printed.
# Everything started is stopped and removed on every exit path (Ctrl-C too).
#
#   sudo bash tests/e2e/demo.sh            # builds pxed (build/pxed) unless PXED is set
#   sudo bash tests/e2e/demo.sh --keep     # keep pxed running at the end until Ctrl-C
#
# Config: examples/demo-lab.conf. Exit status 0 only when all three machines reached NODE-UP
# with the host name and address of their [node]. Works with KVM or without it (TCG: about
# 2 minutes). Environment: PXED, E2E_ACCEL (kvm|tcg: skip the probe), E2E_CACHE,
# DEMO_PARALLEL (machines booting at once, default 2), DEMO_BOOT_TIMEOUT (seconds per
# machine, default 240).
set -u
DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DEMO_DIR/../.." && pwd)
keep=0
for a in "$@"; do
	case "$a" in
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 [--keep]" >&2
		exit 2
		;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (network namespaces, taps, packages): sudo bash $0" >&2
	exit 1
fi

# pxed: the given binary, or build one.
if [ -z "${PXED:-}" ]; then
	echo "demo: building pxed (tools/build.sh) ..."
	(cd "$REPO" && bash tools/deps.sh build && bash tools/build.sh gcc) || {
		echo "demo: building pxed failed" >&2
		exit 1
	}
	PXED=$REPO/build/pxed
fi
export PXED

. "$DEMO_DIR/lib.sh"
# Ctrl-C: no failure dump of every log, just the cleanup (lib.sh's EXIT trap).
trap 'echo; echo "demo: interrupted: stopping the machines and pxed, removing the lab"; SERVER_LOGS=(); exit 130' INT

CONF=$REPO/examples/demo-lab.conf
PARALLEL=${DEMO_PARALLEL:-2}
BOOT_TIMEOUT=${DEMO_BOOT_TIMEOUT:-240}
E2E_VM_TIMEOUT=$((BOOT_TIMEOUT + 30))
NODES=(demo-bios demo-uefi demo-ipxe)
declare -A FW=([demo-bios]=bios [demo-uefi]=uefi [demo-ipxe]=bios)
declare -A CHAIN=([demo-bios]="BIOS pxelinux" [demo-uefi]="UEFI ipxe.efi+HTTP"
	[demo-ipxe]="BIOS iPXE+HTTP")
declare -A MAC=() IP=() HOST=() PID=() SERIAL=() STARTED=() STATE=() LAST=() UPLINE=()

say() { echo "demo: $*"; }

# node_key NODE KEY: a [node] key from the config file.
node_key() {
	awk -v sect="[node $1]" -v key="$2" '
		/^\[/ { in_s = ($0 == sect) }
		in_s && $1 == key && $2 == "=" { print $3; exit }' "$CONF"
}

# --- preparation ------------------------------------------------------------------------------
say "checking the lab prerequisites and packages ..."
e2e_require
e2e_accel
say "building the node image (cached) ..."
e2e_node_image || {
	not_ok "the node image builds"
	finish
}
ROOT=$T/root
lab_node_files "$ROOT"
lab_pxelinux_files "$ROOT"
cp /usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/undionly.kpxe "$ROOT/"
for n in "${NODES[@]}"; do
	MAC[$n]=$(node_key "$n" mac)
	IP[$n]=$(node_key "$n" ip)
	HOST[$n]=$(node_key "$n" hostname)
	STATE[$n]=waiting
	LAST[$n]=-
done
OPTS=(-o "tftp.root=$ROOT" -o "server.state-dir=$T/state")
if ! out=$("$PXED" check -c "$CONF" "${OPTS[@]}" 2>&1); then
	not_ok "pxed check -c examples/demo-lab.conf" "$out"
	finish
fi

lab_setup || {
	not_ok "the lab namespace with br0"
	finish
}
start_pxed_conf "$CONF" 69 "${OPTS[@]}" -o server.log-level=info &&
	log_wait 'dhcp: DHCP server on' 10 >/dev/null || {
	not_ok "pxed starts in the lab" "$(tail -n 20 "$PXED_LOG")"
	finish
}
lab_capture_start >/dev/null 2>&1 || true

echo
say "$("$PXED" --version 2>&1 | head -n 1) serves DHCP, TFTP and HTTP on 198.18.0.1"
say "  lab namespace $LAB_NS (bridge br0), config $CONF, accelerator $E2E_ACCEL"
say "  pxed log: $PXED_LOG"
say "what pxed will send (pxed render NODE --server 198.18.0.1):"
for n in "${NODES[@]}"; do
	arch=bios
	[ "${FW[$n]}" = uefi ] && arch=uefi-x64
	first=$("$PXED" render "$n" -c "$CONF" "${OPTS[@]}" --server 198.18.0.1 --arch "$arch" 2>/dev/null |
		sed -n 's/^== DHCP ([^)]*): .*, file \(.*\)$/\1/p' | head -n 1)
	ipxe=$("$PXED" render "$n" -c "$CONF" "${OPTS[@]}" --server 198.18.0.1 --arch ipxe 2>/dev/null |
		sed -n 's/^== DHCP (ipxe[^)]*): .*, file \(.*\)$/\1/p' | head -n 1)
	printf 'demo:   %-10s %-20s %s  PXE ROM -> %s, iPXE -> %s\n' "$n" "${CHAIN[$n]}" \
		"${MAC[$n]}" "${first:-?}" "${ipxe:-?}"
done
echo

# --- boot -------------------------------------------------------------------------------------
T0=$SECONDS
TTY=0
WIDTH=400
if [ -t 1 ]; then
	TTY=1
	WIDTH=$(tput cols 2>/dev/null || echo 120)
fi

start_vm() {
	local n=$1
	vm_start "${FW[$n]}" "$n" "${MAC[$n]}" >/dev/null || {
		STATE[$n]=no-qemu
		return 1
	}
	PID[$n]=$VM_PID
	SERIAL[$n]=$VM_SERIAL
	STARTED[$n]=$SECONDS
	STATE[$n]=booting
}

# update NODE: VM state from its serial log and process, last event from pxed status.
update() {
	local n=$1 line ev
	if [ "${STATE[$n]}" = booting ]; then
		if line=$(_marker_in "${SERIAL[$n]}" 'NODE-UP '); then
			UPLINE[$n]=$line
			STATE[$n]="UP $((SECONDS - STARTED[$n]))s"
		elif line=$(_marker_in "${SERIAL[$n]}" "$VM_FAIL_RE"); then
			UPLINE[$n]=$line
			STATE[$n]=FAILED
		elif ! alive "${PID[$n]}"; then
			STATE[$n]=ended
		elif [ $((SECONDS - STARTED[$n])) -ge "$BOOT_TIMEOUT" ]; then
			STATE[$n]=timeout
		fi
		case "${STATE[$n]}" in booting | UP*) ;; *) vm_stop "${PID[$n]}" ;; esac
	fi
	# "2026-11-21 08:00:21.000  dhcp-offer    DISCOVER ..." -> "08:00:21 dhcp-offer DISCOVER ..."
	ev=$(pxed_status "$n" | sed -n '2{s/^[0-9-]* //;s/^\([0-9:]*\)\.[0-9]*/\1/;p}' | tr -s ' ')
	[ -n "$ev" ] && [ "$ev" != "(no events yet)" ] && LAST[$n]=$ev
}

# draw: the table (redrawn in place on a terminal; otherwise one line per change).
declare -A SHOWN=()
DRAWN=0
draw() {
	local n row cols=$WIDTH
	if [ "$TTY" = 1 ]; then
		[ "$DRAWN" -gt 0 ] && printf '\033[%dA' "$DRAWN"
		printf '\033[K%-6s %-10s %-20s %-11s %s\n' "t+$((SECONDS - T0))s" NODE CHAIN VM \
			"LAST EVENT (pxed status NODE)"
		for n in "${NODES[@]}"; do
			row=$(printf '%-6s %-10s %-20s %-11s %s' "" "$n" "${CHAIN[$n]}" "${STATE[$n]}" \
				"${LAST[$n]}")
			printf '\033[K%s\n' "${row:0:$((cols - 1))}"
		done
		DRAWN=$((${#NODES[@]} + 1))
	else
		for n in "${NODES[@]}"; do
			row="${STATE[$n]} | ${LAST[$n]}"
			[ "${SHOWN[$n]:-}" = "$row" ] && continue
			SHOWN[$n]=$row
			printf 't+%-4s %-10s %-11s %s\n' "$((SECONDS - T0))s" "$n" "${STATE[$n]}" \
				"${LAST[$n]:0:100}"
		done
	fi
}

say "booting (up to $PARALLEL at a time; each bounded to $BOOT_TIMEOUT s):"
deadline=$((SECONDS + 3 * (BOOT_TIMEOUT + 30)))
while :; do
	running=0 waiting=0
	for n in "${NODES[@]}"; do
		case "${STATE[$n]}" in booting) running=$((running + 1)) ;; waiting) waiting=$((waiting + 1)) ;; esac
	done
	for n in "${NODES[@]}"; do
		[ "$running" -ge "$PARALLEL" ] && break
		[ "${STATE[$n]}" = waiting ] || continue
		start_vm "$n" && running=$((running + 1))
		waiting=$((waiting - 1))
	done
	for n in "${NODES[@]}"; do update "$n"; done
	draw
	running=0
	for n in "${NODES[@]}"; do
		case "${STATE[$n]}" in booting | waiting) running=1 ;; esac
	done
	[ "$running" = 0 ] && break
	if [ "$SECONDS" -ge "$deadline" ]; then
		say "overall time limit reached"
		break
	fi
	sleep 3
done
for n in "${NODES[@]}"; do
	[ -n "${PID[$n]:-}" ] && { vm_wait_exit 20 "${PID[$n]}" || vm_stop "${PID[$n]}"; }
done

# --- summary ----------------------------------------------------------------------------------
echo
say "timelines (pxed status NODE, oldest first):"
for n in "${NODES[@]}"; do
	echo
	echo "== $n (${CHAIN[$n]}, ${MAC[$n]}): ${STATE[$n]}"
	pxed_status "$n" | sed '1d' | tac | sed 's/^/   /' | cut -c1-"$WIDTH"
done
echo
say "pxed status:"
pxed_status | sed 's/^/   /' | cut -c1-"$WIDTH"
echo
for n in "${NODES[@]}"; do
	want="NODE-UP hostname=${HOST[$n]} ip=${IP[$n]} "
	if [ -n "${UPLINE[$n]:-}" ] && [[ "${UPLINE[$n]}" == "$want"* ]]; then
		ok "$n (${CHAIN[$n]}) booted in ${STATE[$n]#UP }: ${UPLINE[$n]}"
	else
		not_ok "$n (${CHAIN[$n]}) reached NODE-UP hostname=${HOST[$n]} ip=${IP[$n]}" \
			"state: ${STATE[$n]}; ${UPLINE[$n]:-no marker}" \
			"serial (last 8 lines):" \
			"$(tail -n 8 "${SERIAL[$n]:-/dev/null}" 2>/dev/null | tr -d '\r' | cut -c1-160)"
	fi
done
say "all three machines took $((SECONDS - T0)) s under $E2E_ACCEL"

if [ "$keep" = 1 ] && [ "$FAILED" -eq 0 ]; then
	say "pxed keeps running in $LAB_NS: try"
	say "  $PXED status -o server.state-dir=$T/state"
	say "  $PXED render demo-uefi -c $CONF -o tftp.root=$ROOT --server 198.18.0.1"
	say "Ctrl-C stops it and removes the lab."
	wait "$PXED_PID"
fi
finish
