# shellcheck shell=bash
# Helpers for the real-firmware tests: a lab network namespace with a bridge, VMs on taps
# (QEMU with SeaBIOS + iPXE ROM, or OVMF), a KVM/TCG probe, bounded waits, evidence kept on
# failure. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#
# It sources tests/integration/lib.sh first, so ok/not_ok/check/check_eq/note/finish/skip_all,
# the scratch dir $T, register_pid, start_pxed, log_wait and its EXIT trap are available.
# Everything started here is registered there and torn down by PID on every exit path; the
# lab namespace (and with it br0 and every tap) is deleted. On failure the pxed log, the serial
# logs, QEMU's stderr and the br0 capture are copied to $LOGDIR/$TEST_NAME/ and their paths are
# printed.
#
# Environment:
#   PXED           the pxed binary (default build/pxed)
#   E2E_ACCEL      kvm or tcg: skip the probe (run.sh probes once and exports it)
#   E2E_CACHE      node image cache (default /var/cache/pxed-e2e)
#   E2E_VM_TIMEOUT hard limit per VM in seconds (default 300)
#   LOGDIR         where evidence of failures goes (default /tmp/pxed-e2e-logs)

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$E2E_DIR/../integration/lib.sh"

for _f in ok not_ok check finish skip_all register_pid kill_pid start_pxed log_wait cleanup; do
	if ! declare -F "$_f" >/dev/null; then
		echo "# tests/integration/lib.sh no longer defines $_f; tests/e2e/lib.sh needs it" >&2
		exit 1
	fi
done
unset _f

E2E_CACHE=${E2E_CACHE:-/var/cache/pxed-e2e}
E2E_VM_TIMEOUT=${E2E_VM_TIMEOUT:-300}
LOGDIR=${LOGDIR:-/tmp/pxed-e2e-logs}
export LOGDIR
mkdir -p "$LOGDIR"
LAB_NS=
LAB_TAPS=0
LAB_TAP=
LAB_ADDR=198.18.0.1
CAPTURE_PID=
CAPTURE_FILE=
VM_PID=
VM_SERIAL=
VM_STDERR=

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
QEMU=qemu-system-x86_64

# Packages the lab itself needs (the node image script installs its own).
# pxelinux + syslinux-common: boot_bios_pxelinux; dnsmasq-base: the address-only DHCP server
# beside pxed in proxy mode (boot_proxy); curl: HTTP requests from a client namespace.
E2E_PKGS="qemu-system-x86 qemu-system-data ipxe-qemu ovmf ipxe tshark iproute2 util-linux
	pxelinux syslinux-common dnsmasq-base curl"

# --- cleanup and evidence -------------------------------------------------------------------

# e2e_keep FILE...: copied to $LOGDIR/$TEST_NAME/ (and its last lines printed) on failure.
e2e_keep() { SERVER_LOGS+=("$@"); }

# Runs before the integration lib's cleanup: says where the evidence of a failure will be.
_e2e_exit() {
	local rc=$? f
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		# Stop the capture first so the file is complete when it is copied.
		if [ -n "$CAPTURE_PID" ]; then
			kill_pid "$CAPTURE_PID"
			wait "$CAPTURE_PID" 2>/dev/null
		fi
		rm -rf "${LOGDIR:?}/$TEST_NAME" # evidence of an earlier run of this test
		echo "# FAILED (exit $rc); evidence in $LOGDIR/$TEST_NAME/:"
		for f in "${SERVER_LOGS[@]}" "$T"/*.pcap; do
			[ -f "$f" ] && echo "#   $LOGDIR/$TEST_NAME/$(basename "$f")"
		done
	fi
	_e2e_return "$rc"
	cleanup
}
_e2e_return() { return "$1"; }
trap _e2e_exit EXIT

# --- packages, system checks ----------------------------------------------------------------

# e2e_need_pkgs PKG...: install the missing ones (apt-get; waits for another apt's lock).
e2e_need_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	note "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 900 apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1
	timeout 1800 apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
		"${missing[@]}" >"$T/apt.log" 2>&1 || {
		tail -n 20 "$T/apt.log" | sed 's/^/# apt: /'
		return 1
	}
}

# e2e_require: root, the kernel features the lab needs (else SKIP), then the packages.
e2e_require() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, taps)"
	[ -c /dev/net/tun ] || skip_all "no /dev/net/tun (taps for the VMs)"
	e2e_need_pkgs $E2E_PKGS || {
		echo "# cannot install the packages the lab needs: $E2E_PKGS" >&2
		exit 1
	}
	# Kernel features, tried in a throw-away namespace (nothing on the host changes).
	local ns="pxed-e2e-probe-$$" why=
	ip netns add "$ns" 2>/dev/null || skip_all "cannot create network namespaces"
	if ! ip -n "$ns" link add br0 type bridge 2>/dev/null; then
		why="the kernel has no bridge support"
	elif ! ip -n "$ns" tuntap add dev tap0 mode tap 2>/dev/null; then
		why="cannot create tap devices"
	fi
	ip netns del "$ns"
	[ -z "$why" ] || skip_all "$why"
}

# e2e_node_image: build (or reuse) the node image; sets NODE_DIR (vmlinuz, initrd.img, info).
e2e_node_image() {
	if NODE_DIR=$(bash "$E2E_DIR/build-node-image.sh" "$E2E_CACHE" 2>"$T/node-image.log") &&
		[ -f "$NODE_DIR/vmlinuz" ] && [ -f "$NODE_DIR/initrd.img" ]; then
		return 0
	fi
	sed 's/^/# /' "$T/node-image.log"
	return 1
}

# --- the lab namespace ----------------------------------------------------------------------

# lab_setup: namespace pxed-e2e-$$ with lo and a bridge br0 holding 198.18.0.1/24, IPv6 off
# (nothing but 198.18.0.0/15 on the wire), no routes beyond the connected one. Sets LAB_NS and
# PXED_NETNS/PXED_ADDR for start_pxed.
lab_setup() {
	LAB_NS="pxed-e2e-$$"
	ip netns add "$LAB_NS" || return 1
	CLEANUP_NETNS+=("$LAB_NS")
	ip netns exec "$LAB_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
	ip -n "$LAB_NS" link set lo up &&
		ip -n "$LAB_NS" link add br0 type bridge forward_delay 0 stp_state 0 &&
		ip -n "$LAB_NS" addr add "$LAB_ADDR/24" dev br0 &&
		ip -n "$LAB_NS" link set br0 address 02:18:00:00:00:01 &&
		ip -n "$LAB_NS" link set br0 up || return 1
	# A bridge without a fixed MAC takes the lowest MAC of its ports, so it would change as
	# taps and veths come and go, under clients that cached the old one (seen: 15 s of
	# unanswered SYNs). Pinned above.
	PXED_NETNS=$LAB_NS
	PXED_ADDR=$LAB_ADDR
}

# lab_add_tap: a new tap inside the lab namespace, enslaved to br0; sets LAB_TAP to its name
# (and prints it). Call it directly, not in $(...): the counter must survive for the next VM.
lab_add_tap() {
	local tap="tap$LAB_TAPS"
	LAB_TAPS=$((LAB_TAPS + 1))
	ip -n "$LAB_NS" tuntap add dev "$tap" mode tap &&
		ip -n "$LAB_NS" link set "$tap" master br0 &&
		ip -n "$LAB_NS" link set "$tap" up || return 1
	LAB_TAP=$tap
	echo "$tap"
}

# lab_capture_start: tshark on br0 into $T/br0.pcap (kept on failure). Waits until it captures.
lab_capture_start() {
	CAPTURE_FILE="$T/br0.pcap"
	ip netns exec "$LAB_NS" tshark -n -q -i br0 -w "$CAPTURE_FILE" >"$T/tshark.log" 2>&1 &
	CAPTURE_PID=$!
	register_pid "$CAPTURE_PID"
	local i
	for i in $(seq 1 100); do
		grep -q "Capturing on" "$T/tshark.log" 2>/dev/null && [ -s "$CAPTURE_FILE" ] && return 0
		alive "$CAPTURE_PID" || break
		sleep 0.1
	done
	note "tshark did not start: $(tail -n 3 "$T/tshark.log" | tr '\n' ' ')"
	return 1
}

# lab_pxed_server BOOT_OPTS...: pxed in the lab namespace as DHCP server on br0 (subnet
# 198.18.0.0/24, range .100-.150) and TFTP on 198.18.0.1:69, root $T/tftp, state $T/state.
# Extra -o options (boot files, nodes; -o dhcp.mode=proxy wins over server) are appended.
lab_pxed_server() {
	mkdir -p "$T/tftp" "$T/state"
	start_pxed "$T/tftp" 69 \
		-o server.state-dir="$T/state" \
		-o dhcp.mode=server -o dhcp.interfaces=br0 \
		-o subnet.lab.network=198.18.0.0/24 \
		-o "subnet.lab.range=198.18.0.100 198.18.0.150" \
		"$@" || return 1
	log_wait '^.*dhcp: (DHCP server|proxyDHCP) on' 10 >/dev/null || {
		note "pxed did not report its DHCP server"
		return 1
	}
}

# --- QEMU -----------------------------------------------------------------------------------

# _qemu_common NAME TAP: arguments every lab VM gets. With VM_SERIAL_INPUT=1 the serial port
# is also a Unix socket ($T/NAME.serial.sock) that vm_type writes keystrokes to; the log file
# is the same either way.
_qemu_common() {
	printf '%s\n' -accel "$E2E_ACCEL" -m 512 -smp 1 \
		-nographic -vga none -monitor none -no-reboot -name "pxed-e2e-$1-$$"
	if [ "${VM_SERIAL_INPUT:-0}" = 1 ]; then
		printf '%s\n' -chardev "socket,id=ser0,path=$T/$1.serial.sock,server=on,wait=off,logfile=$T/$1.serial.log" \
			-serial chardev:ser0
	else
		printf '%s\n' -serial "file:$T/$1.serial.log"
	fi
	printf '%s\n' -netdev "tap,id=n0,ifname=$2,script=no,downscript=no"
}

# vm_args FIRMWARE NAME TAP MAC: the full QEMU argument list, one per line.
#   bios: -machine pc, SeaBIOS, e1000 with QEMU's iPXE ROM (ipxe-qemu) as first boot device.
#   uefi: -machine q35, OVMF (code read-only, a per-VM copy of the vars), virtio-net-pci
#         without option ROM (romfile=) so OVMF's own PXE client does the first stage.
# VM_NIC (model) and VM_ROMFILE (unset: QEMU's default ROM; empty: none) override the NIC.
vm_args() {
	local fw=$1 name=$2 tap=$3 mac=$4 nic rom romfile_set=${VM_ROMFILE+set}
	local romfile=${VM_ROMFILE:-}
	_qemu_common "$name" "$tap"
	case "$fw" in
	bios)
		nic=${VM_NIC:-e1000}
		printf '%s\n' -machine pc -boot strict=on
		;;
	uefi)
		nic=${VM_NIC:-virtio-net-pci}
		# (locals: a UEFI VM must not take the ROM away from the next BIOS VM)
		if [ -z "${VM_NIC:-}" ] && [ -z "$romfile_set" ]; then
			romfile_set="set"
			romfile=
		fi
		cp "$OVMF_VARS" "$T/$name.vars.fd" || return 1
		printf '%s\n' -machine q35 \
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
			-drive "if=pflash,format=raw,unit=1,file=$T/$name.vars.fd"
		;;
	*)
		echo "vm_args: unknown firmware $fw" >&2
		return 1
		;;
	esac
	rom=
	[ -n "$romfile_set" ] && rom=",romfile=$romfile"
	printf '%s\n' -device "$nic,netdev=n0,mac=$mac,bootindex=1$rom"
}

# vm_start FIRMWARE NAME MAC [EXTRA_QEMU_ARGS...]: a VM on a new tap in the lab, QEMU run
# inside the namespace under `timeout $E2E_VM_TIMEOUT`. Sets VM_PID, VM_SERIAL, VM_STDERR.
vm_start() {
	local fw=$1 name=$2 mac=$3 tap args
	shift 3
	e2e_accel
	lab_add_tap >/dev/null || return 1
	tap=$LAB_TAP
	vm_args "$fw" "$name" "$tap" "$mac" >"$T/$name.args" || return 1
	mapfile -t args <"$T/$name.args"
	VM_SERIAL="$T/$name.serial.log"
	VM_STDERR="$T/$name.qemu.log"
	: >"$VM_SERIAL"
	e2e_keep "$VM_SERIAL" "$VM_STDERR"
	echo "$QEMU ${args[*]} $*" >"$VM_STDERR"
	ip netns exec "$LAB_NS" timeout -k 5 "$E2E_VM_TIMEOUT" \
		"$QEMU" "${args[@]}" "$@" >>"$VM_STDERR" 2>&1 </dev/null &
	VM_PID=$!
	register_pid "$VM_PID"
	note "VM $name ($fw, $E2E_ACCEL, mac $mac, $tap): pid $VM_PID, serial $VM_SERIAL"
}

# vm_wait_exit [SECONDS] [PID]: wait for the VM to end (it powers off). 0 when it did.
vm_wait_exit() {
	local secs=${1:-30} pid=${2:-$VM_PID} i
	for i in $(seq 1 $((secs * 10))); do
		alive "$pid" || {
			wait "$pid" 2>/dev/null
			return 0
		}
		sleep 0.1
	done
	return 1
}

# _marker_in FILE REGEX: prints the first matching line (CRs removed); 1 when there is none.
_marker_in() {
	local m
	m=$(grep -aE -m1 -- "$2" "$1" 2>/dev/null) || return 1
	printf '%s\n' "$m" | tr -d '\r'
}

# wait_marker FILE REGEX SECONDS [PID]: wait until FILE has a line matching the extended
# regex; prints the first match (without CR). Returns 0 found, 1 timed out, 2 PID ended first.
wait_marker() {
	local file=$1 re=$2 secs=$3 pid=${4:-} end
	end=$(($(date +%s) + secs))
	while :; do
		_marker_in "$file" "$re" && return 0
		if [ -n "$pid" ] && ! alive "$pid"; then
			_marker_in "$file" "$re" && return 0
			return 2
		fi
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.5
	done
}

# --- KVM or TCG -----------------------------------------------------------------------------

# _probe_kvm FIRMWARE: boot that firmware under KVM with no network (a QEMU hub with one port)
# and a short limit; 0 when it reaches a point past its real-mode/early code.
_probe_kvm() {
	local fw=$1 log="$T/kvm-probe-$1.serial.log" re pid args=() rc=1 i
	: >"$log"
	args=(-accel kvm -m 256 -smp 1 -nographic -vga none -monitor none -no-reboot
		-serial "file:$log" -netdev hubport,id=n0,hubid=0)
	if [ "$fw" = bios ]; then
		args+=(-machine pc -device e1000,netdev=n0,bootindex=1)
		re='iPXE initialising devices'
	else
		cp "$OVMF_VARS" "$T/kvm-probe.vars.fd" || return 1
		args+=(-machine q35
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$T/kvm-probe.vars.fd"
			-device virtio-net-pci,netdev=n0,romfile=,bootindex=1)
		re='Start PXE over IPv4|BdsDxe'
	fi
	# Under a working KVM both reach their mark in 2-3 s; a broken one hangs or stops with
	# "KVM internal error".
	timeout -k 2 20 "$QEMU" "${args[@]}" >"$T/kvm-probe-$fw.qemu.log" 2>&1 </dev/null &
	pid=$!
	for i in $(seq 1 24); do
		if grep -aqE "$re" "$log"; then
			rc=0
			break
		fi
		grep -aq "KVM internal error" "$T/kvm-probe-$fw.qemu.log" && break
		alive "$pid" || break
		sleep 0.5
	done
	kill_pid "$pid"
	wait "$pid" 2>/dev/null
	return $rc
}

# e2e_accel: sets (and exports) E2E_ACCEL to kvm or tcg, probing once: KVM only when SeaBIOS +
# iPXE ROM and OVMF both get past their early code under it. Call it directly, not in $(...).
e2e_accel() {
	case "${E2E_ACCEL:-}" in
	kvm | tcg) return 0 ;;
	"") ;;
	*)
		note "E2E_ACCEL=$E2E_ACCEL: expected kvm or tcg; probing"
		;;
	esac
	E2E_ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && _probe_kvm bios && _probe_kvm uefi; then
		E2E_ACCEL=kvm
	fi
	export E2E_ACCEL
	note "accelerator: $E2E_ACCEL (KVM probe with SeaBIOS+iPXE and OVMF)"
}

# --- assertions on pxed's log ---------------------------------------------------------------

# pxed_log_has DESCRIPTION REGEX [SECONDS]: ok when pxed's log has a matching line (waits up
# to SECONDS, default 5: transfer lines are written when a transfer ends).
pxed_log_has() {
	local desc=$1 re=$2 secs=${3:-5} line
	if line=$(log_wait "$re" "$secs"); then
		ok "$desc"
		note "  $line"
	else
		not_ok "$desc" "no line matching: $re" "pxed log (last 15 lines):" \
			"$(tail -n 15 "$PXED_LOG")"
	fi
}

# serial_has DESCRIPTION REGEX [FILE]: ok when the serial log has a matching line.
serial_has() {
	local desc=$1 re=$2 file=${3:-$VM_SERIAL} line
	if line=$(_marker_in "$file" "$re"); then
		ok "$desc"
		note "  $line"
	else
		not_ok "$desc" "no line matching: $re" "serial log (last 15 lines):" \
			"$(tail -n 15 "$file" | tr -d '\r' | cut -c1-200)"
	fi
}

# --- boot scenarios (issue 4): profiles, timelines, several VMs, client namespaces ----------

# lab_node_files DIR: the node image's vmlinuz and initrd.img (NODE_DIR) copied into DIR.
lab_node_files() {
	mkdir -p "$1" && cp "$NODE_DIR/vmlinuz" "$NODE_DIR/initrd.img" "$1/"
}

# lab_pxelinux_files DIR: pxelinux.0 and ldlinux.c32 (packages pxelinux, syslinux-common).
lab_pxelinux_files() {
	mkdir -p "$1" && cp /usr/lib/PXELINUX/pxelinux.0 \
		/usr/lib/syslinux/modules/bios/ldlinux.c32 "$1/"
}

# lab_client_ns NAME MAC ADDR: a namespace NAME-$$ joined to br0 by a veth pair, its eth0 with
# MAC and ADDR/24 (no routes beyond the connected one). Prints the namespace name and sets
# LAB_CLIENT_NS to it. Call it directly, not in $(...): it registers the namespace for cleanup
# in the calling shell.
lab_client_ns() {
	local ns="$1-$$" mac=$2 addr=$3 veth="v$1"
	veth=${veth:0:12}
	ip netns add "$ns" || return 1
	CLEANUP_NETNS+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
	ip -n "$LAB_NS" link add "$veth" type veth peer name eth0 netns "$ns" &&
		ip -n "$LAB_NS" link set "$veth" master br0 &&
		ip -n "$LAB_NS" link set "$veth" up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" link set eth0 address "$mac" &&
		ip -n "$ns" link set eth0 up || return 1
	if [ -n "$addr" ]; then
		ip -n "$ns" addr add "$addr/24" dev eth0 || return 1
	fi
	LAB_CLIENT_NS=$ns
	echo "$ns"
}

# mac_path_re MAC: an extended regex for MAC as it appears in a URL path: iPXE sends the colons
# of /boot/<mac>.ipxe percent-encoded (%3A), other clients do not.
mac_path_re() {
	local m=$1
	echo "${m//:/(:|%3[aA])}"
}

# lab_local_disk FILE: a 1 MiB raw disk whose boot sector stands for "the installed system":
# it writes LOCAL-DISK-BOOT to the first serial port and powers the (i440fx) machine off. Give
# it to a BIOS VM after the NIC: `-drive file=FILE,format=raw,if=none,id=d0 -device
# ide-hd,drive=d0,bootindex=2`. 16-bit code: cli; ds=0; si=msg; loop: lodsb; test al,al; jz
# off; out 0x3f8,al; jmp loop; off: outw 0x604,0x2000 (PIIX4 ACPI S5 at SeaBIOS's PM base);
# hlt; jmp $-1.
lab_local_disk() {
	{
		printf '\xfa\x31\xc0\x8e\xd8\xbe\x1d\x7c\xac\x84\xc0\x74\x06\xba\xf8\x03\xee\xeb\xf5'
		printf '\xba\x04\x06\xb8\x00\x20\xef\xf4\xeb\xfd'
		printf 'LOCAL-DISK-BOOT\r\n\0'
		head -c $((510 - 29 - 18)) /dev/zero
		printf '\x55\xaa'
		head -c $((1024 * 1024 - 512)) /dev/zero
	} >"$1"
}

# pxed_status [NODE]: `pxed status` from the running daemon (its control socket in $T/state).
pxed_status() {
	local which=()
	[ -n "${1:-}" ] && which=("$1")
	timeout 10 "$PXED" status "${which[@]}" -o server.state-dir="$T/state" 2>&1
}

# status_has DESCRIPTION NODE REGEX: ok when `pxed status NODE` (NODE "": the table of all
# nodes) has a matching line.
status_has() {
	local desc=$1 node=$2 re=$3 out line
	out=$(pxed_status "$node")
	if line=$(printf '%s\n' "$out" | grep -aE -m1 -- "$re"); then
		ok "$desc"
		note "  $line"
	else
		not_ok "$desc" "no line matching: $re" "pxed status $node:" "$out"
	fi
}

# pxed_log_lacks DESCRIPTION REGEX: ok when pxed's log has no matching line.
pxed_log_lacks() {
	local bad
	if bad=$(grep -aE -m3 -- "$2" "$PXED_LOG"); then
		not_ok "$1" "unexpected: $bad"
	else
		ok "$1"
	fi
}

# serial_lacks DESCRIPTION REGEX [FILE]: ok when the serial log has no matching line.
serial_lacks() {
	local bad
	if bad=$(_marker_in "${3:-$VM_SERIAL}" "$2"); then
		not_ok "$1" "unexpected: $bad"
	else
		ok "$1"
	fi
}

# vm_boot_to DESCRIPTION REGEX SECONDS [FAIL_REGEX]: wait for the VM's marker line (REGEX) or
# a line that shows the boot failed (FAIL_REGEX, default: the node's -FAILED markers, iPXE
# giving up on every NIC); ok/not_ok with the time and the serial tail. Sets VM_MARKER to the
# line. 0 when REGEX matched.
VM_FAIL_RE='NODE-UP-FAILED|NODE-FAILED|No more network devices|No bootable device|E2E-IPXE-FAILED|Kernel panic'
vm_boot_to() {
	local desc=$1 re=$2 secs=$3 fail=${4:-$VM_FAIL_RE} start=$SECONDS
	if VM_MARKER=$(wait_marker "$VM_SERIAL" "$re|$fail" "$secs" "$VM_PID") &&
		printf '%s\n' "$VM_MARKER" | grep -qE -- "$re" &&
		! printf '%s\n' "$VM_MARKER" | grep -qE -- "$fail"; then
		ok "$desc after $((SECONDS - start)) s ($E2E_ACCEL)"
		note "  $VM_MARKER"
		return 0
	fi
	not_ok "$desc within $secs s ($E2E_ACCEL)" \
		"${VM_MARKER:+failed: $VM_MARKER}" \
		"$(alive "$VM_PID" && echo "QEMU still runs" || echo "QEMU ended")" \
		"serial (last 10 lines):" "$(tail -n 10 "$VM_SERIAL" | tr -d '\r' | cut -c1-200)"
	VM_MARKER=
	return 1
}

# vm_type NAME TEXT: send TEXT (printf escapes: \r, \002 for Ctrl-B) to the serial port of VM
# NAME started with VM_SERIAL_INPUT=1, one character every 50 ms (firmware polls its UART).
vm_type() {
	timeout 30 python3 - "$T/$1.serial.sock" "$(printf '%b' "$2")" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
for c in sys.argv[2]:
    s.send(c.encode("latin-1"))
    time.sleep(0.05)
    try:
        while s.recv(65536):  # drain what the VM echoes; the log file has it
            pass
    except BlockingIOError:
        pass
s.close()
PY
}

# vm_stop [PID]: end a VM that does not power off by itself (TERM, then KILL).
vm_stop() {
	local pid=${1:-$VM_PID}
	kill_pid "$pid"
	wait "$pid" 2>/dev/null
	return 0
}

# no_failed_tftp: ok when no TFTP transfer failed (OVMF's size query, ERROR 8, excepted).
no_failed_tftp() {
	local bad
	if bad=$(grep -aE '"[^"]*": .*failed: ' "$PXED_LOG" | grep -v 'client sent error 8 '); then
		not_ok "no failed TFTP transfer" "$bad"
	else
		ok "no failed TFTP transfer"
	fi
}

# Run directly (`bash tests/e2e/lib.sh --probe`): install what the lab needs, probe KVM once and
# print the accelerator (kvm or tcg). run.sh does this and exports E2E_ACCEL for every test.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = --probe ]; then
	e2e_require >&2
	e2e_accel >&2
	echo "$E2E_ACCEL"
	exit 0
fi
