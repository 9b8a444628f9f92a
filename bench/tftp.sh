#!/usr/bin/env bash
# bench/tftp.sh - TFTP benchmark: pxed against tftpd-hpa, dnsmasq and atftpd, side by side.
#
#   sudo bench/tftp.sh [--quick] [--docs | --no-docs]
#
# Everything runs inside a private network namespace created here (its own loopback, so every
# server can listen on 127.0.0.1:69 - dnsmasq cannot use another TFTP port - without touching the
# host). Servers run one at a time. Raw results and logs go to bench/out/tftp-DATE/; the table
# goes to docs/benchmarks.md between the bench:tftp markers (full runs only, unless --docs).
# Method and caveats: bench/README.md and docs/benchmarks.md.
#
# Environment:
#   PEERS="pxed tftpd-hpa dnsmasq atftpd"  servers to run (pxed's ratios are against the others)
#   PXED=build/pxed        the pxed binary
#   REPEATS=3              repetitions per row (median reported); --quick sets 1
#   CONC_CLIENTS="100 1000"  client counts of the concurrent rows
#   CONC_MIB=16            file size of the concurrent rows...
#   CONC_MIB_1000=4        ...and of those with 1000 clients or more (1000 x 16 MiB would take
#                          3-5 minutes per server and repetition on this kind of machine)
#   REPEATS_1000=1         repetitions of the rows with 1000 clients or more
#   CACHE=/var/cache/pxed-bench  unpacked peers and test files (outside the repo)
#   BENCH_NOTE="..."       a line quoted under the run's header in the report
#   REFERENCE=1            also run bench/tftp-floor.c, a minimal server with no file I/O, no
#                          timers and no retransmission, on the concurrent rows and the
#                          windowsize-4 rows: the floor of server CPU on this kernel. Shown as
#                          "floor (reference, not a peer)", never counted as a peer.
#   PIN=N                  run the one-client rows with server and client both on CPU N
#                          (default: unpinned). A one-client transfer's round trip depends on
#                          whether the scheduler puts the two on one CPU or on two; see
#                          docs/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
DOCS=auto
for arg in "$@"; do
	case $arg in
	--quick) QUICK=1 ;;
	--docs) DOCS=1 ;;
	--no-docs) DOCS=0 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "tftp.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done
[ "$DOCS" = auto ] && DOCS=$((1 - QUICK))

PEERS=${PEERS:-"pxed tftpd-hpa dnsmasq atftpd"}
REFERENCE=${REFERENCE:-0}
PIN=${PIN:-}
PIN_NOW="" # taskset prefix of the rows now running (PIN, one-client rows only)
PXED=${PXED:-$REPO/build/pxed}
CACHE=${CACHE:-/var/cache/pxed-bench}
CONC_CLIENTS=${CONC_CLIENTS:-"100 1000"}
BLKSIZES="512 1468 8192 65464"
WINDOWS="4 16 64"
if [ "$QUICK" = 1 ]; then
	REPEATS=${REPEATS:-1}
	REPEATS_1000=${REPEATS_1000:-1}
	LOCK_MIB=8
	CONC_MIB=${CONC_MIB:-1}
	CONC_MIB_1000=${CONC_MIB_1000:-1}
else
	REPEATS=${REPEATS:-3}
	REPEATS_1000=${REPEATS_1000:-1}
	LOCK_MIB=64
	CONC_MIB=${CONC_MIB:-16}
	CONC_MIB_1000=${CONC_MIB_1000:-4}
fi
PORT=69
SERVER=127.0.0.1:$PORT
OUT=$REPO/bench/out/tftp-$(date +%Y%m%d-%H%M%S)
NS=pxedbench-$$
CG=""          # this run's cgroup (v2), when available
SRV_PID=""     # the server now running
SRV_CG=""      # its cgroup
SAMPLER_PID="" # memory sampler for forking servers
RUN_SEQ=0

log() { printf '%s tftp.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# Set-up: packages, peers unpacked under $CACHE, tftpload, test files, namespace, cgroup.

ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt_retry install -y --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed (see $OUT/logs/apt.log)"
}

# apt-get ARGS, once more after `apt-get update` if it fails (stale or missing lists).
apt_retry() {
	DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$OUT/logs/apt.log" 2>&1 && return 0
	apt-get update >>"$OUT/logs/apt.log" 2>&1 || return 1
	DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$OUT/logs/apt.log" 2>&1
}

# Unpack a server package without installing it (no service, no conflicts): $CACHE/PKG/...
unpack_peer() {
	local pkg=$1 bin=$2 deb
	[ -x "$CACHE/$pkg/$bin" ] && return 0
	mkdir -p "$CACHE/debs"
	log "downloading and unpacking $pkg into $CACHE/$pkg"
	(cd "$CACHE/debs" && apt_retry -o APT::Sandbox::User=root download "$pkg") ||
		die "apt-get download $pkg failed (see $OUT/logs/apt.log)"
	deb=$(ls -t "$CACHE/debs/${pkg}"_*.deb | head -1)
	rm -rf "${CACHE:?}/${pkg:?}"
	dpkg -x "$deb" "$CACHE/$pkg"
	[ -x "$CACHE/$pkg/$bin" ] || die "$deb has no $bin"
}

peer_version() {
	case $1 in
	pxed) "$PXED" --version 2>&1 | head -1 ;;
	tftpd-hpa | atftpd) dpkg-deb -f "$(ls -t "$CACHE/debs/$1"_*.deb | head -1)" Package Version |
		awk '{v = v $2 " "} END {print v}' ;;
	dnsmasq) dpkg-query -W -f='dnsmasq-base ${Version}' dnsmasq-base ;;
	atftp) dpkg-query -W -f='atftp ${Version}' atftp ;;
	esac
}

in_peers() { [[ " $PEERS " == *" $1 "* ]]; }

setup() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespace, port 69, cgroup)"
	mkdir -p "$OUT/logs" "$CACHE"
	local pkgs=(iproute2 python3 gcc libc6-dev atftp) s
	in_peers dnsmasq && pkgs+=(dnsmasq-base)
	in_peers tftpd-hpa || in_peers atftpd && pkgs+=(libwrap0)
	ensure_pkgs "${pkgs[@]}"
	in_peers tftpd-hpa && unpack_peer tftpd-hpa usr/sbin/in.tftpd
	in_peers atftpd && unpack_peer atftpd usr/sbin/atftpd
	if in_peers pxed; then
		[ -x "$PXED" ] || die "no pxed binary at $PXED (build it, set PXED=, or drop it from PEERS)"
	fi
	for s in $PEERS; do
		case $s in pxed | tftpd-hpa | dnsmasq | atftpd) ;; *) die "unknown server $s in PEERS" ;; esac
	done

	cc -O2 -std=c11 -Wall -Wextra -o "$OUT/tftpload" "$REPO/bench/tftpload.c" ||
		die "cannot build bench/tftpload.c"
	if [ "$REFERENCE" = 1 ]; then
		cc -O2 -std=c11 -Wall -Wextra -o "$OUT/tftp-floor" "$REPO/bench/tftp-floor.c" ||
			die "cannot build bench/tftp-floor.c"
	fi

	# Test files: random contents, made once, world-readable (tftpd-hpa and atftpd run as
	# nobody), read once so every server starts from a warm page cache.
	ROOT=$CACHE/root
	mkdir -p "$ROOT"
	chmod 755 "$CACHE" "$ROOT"
	LOCK_FILE=lock-${LOCK_MIB}m.bin
	make_file "$ROOT/$LOCK_FILE" $((LOCK_MIB << 20))
	make_file "$ROOT/conc-${CONC_MIB}m.bin" $((CONC_MIB << 20))
	make_file "$ROOT/conc-${CONC_MIB_1000}m.bin" $((CONC_MIB_1000 << 20))
	make_file "$ROOT/probe.bin" 1000
	LOCK_SIZE=$((LOCK_MIB << 20))
	LOCK_SHA=$(sha256sum "$ROOT/$LOCK_FILE" | cut -d' ' -f1)
	cat "$ROOT/$LOCK_FILE" "$ROOT/conc-${CONC_MIB}m.bin" "$ROOT/conc-${CONC_MIB_1000}m.bin" >/dev/null

	# Enough descriptors for 1000 transfers in every server (dnsmasq: about n + 10).
	ulimit -n "$(ulimit -Hn)"

	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# A non-127 address, so getaddrinfo(AI_ADDRCONFIG) in tftpd-hpa resolves 127.0.0.1.
	ip -n "$NS" addr add 198.18.0.1/32 dev lo

	# CPU of a whole process tree, children that already exited included: a cgroup v2 below
	# our own (cpu.stat is present even with no controller enabled). Fallback: /proc/PID/stat.
	local cg2 own
	cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
	if [ -n "$cg2" ] && mkdir "$cg2${own%/}/pxedbench-$$" 2>/dev/null; then
		CG=$cg2${own%/}/pxedbench-$$
		[ -f "$CG/cpu.stat" ] || {
			rmdir "$CG"
			CG=""
		}
	fi
	[ -n "$CG" ] || log "warning: no cgroup v2; server CPU from /proc/PID/stat (misses tftpd-hpa's children)"
}

make_file() {
	local f=$1 size=$2
	if [ ! -f "$f" ] || [ "$(stat -c %s "$f")" != "$size" ]; then
		head -c "$size" /dev/urandom >"$f.tmp"
		mv "$f.tmp" "$f"
	fi
	chmod 644 "$f"
}

cleanup() {
	local rc=$?
	set +e
	stop_server
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	exit $rc
}

# ---------------------------------------------------------------------------------------------
# Servers. Each starts fresh in its own cgroup, inside the namespace, on 127.0.0.1:69.

server_cmd() {
	case $1 in
	pxed)
		CMD=("$PXED" serve -o "tftp.root=$ROOT" -o "tftp.listen=$SERVER"
			-o tftp.max-transfers=2000 -o tftp.max-per-client=2000
			-o server.log-level=warning)
		;;
	tftpd-hpa)
		# -B 65464 is also its built-in maximum; it forks one process per transfer, no cap.
		CMD=("$CACHE/tftpd-hpa/usr/sbin/in.tftpd" -L -s "$ROOT" -a "$SERVER" -B 65464)
		;;
	dnsmasq | dnsmasq-default)
		# --edns-packet-max sizes dnsmasq's packet buffer, which also caps TFTP blksize
		# (2263 bytes by default); DNS itself is off (--port=0).
		CMD=(dnsmasq -k --conf-file=/dev/null --port=0 --enable-tftp "--tftp-root=$ROOT"
			--listen-address=127.0.0.1 --bind-interfaces --edns-packet-max=65535
			--quiet-tftp --pid-file= --log-facility=-)
		if [ "$1" = dnsmasq ]; then
			CMD+=(--tftp-max=2000) # default 50
		fi
		;;
	floor)
		# The reference floor (REFERENCE=1): no file I/O, timers or retransmission.
		CMD=("$OUT/tftp-floor" --listen "$SERVER" --root "$ROOT")
		;;
	atftpd)
		# --maxthread: default 100. atftpd waits with select(): once a descriptor passes
		# FD_SETSIZE (1024) glibc aborts it ("bit out of range"), as --maxthread 2000 and 600
		# did at 1000 clients; 450 threads (two descriptors each) stay below. Requests over
		# the cap are dropped, and the clients' retries get them in later.
		CMD=("$CACHE/atftpd/usr/sbin/atftpd" --daemon --no-fork --port "$PORT"
			--bind-address 127.0.0.1 --maxthread 450 --logfile - --verbose=4 "$ROOT")
		;;
	esac
}

start_server() {
	local name=$1 _
	server_cmd "$name"
	RUN_SEQ=$((RUN_SEQ + 1))
	SRV_CG=""
	if [ -n "$CG" ]; then
		SRV_CG=$CG/s$RUN_SEQ
		mkdir "$SRV_CG"
	fi
	# The shell joins the cgroup, then becomes `ip netns exec`, which becomes the server:
	# one PID throughout, every child inside the cgroup from the start.
	sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs"; exec "$@"' "$SRV_CG" \
		$PIN_NOW ip netns exec "$NS" "${CMD[@]}" >>"$OUT/logs/$name.log" 2>&1 &
	SRV_PID=$!
	SRV_NAME=$name
	for _ in $(seq 50); do
		kill -0 "$SRV_PID" 2>/dev/null || die "$name exited at start (see $OUT/logs/$name.log)"
		if ip netns exec "$NS" "$OUT/tftpload" --server "$SERVER" --file probe.bin \
			--expect-size 1000 --timeout-ms 100 --retries 1 --deadline-s 2 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "$name does not serve probe.bin on $SERVER (see $OUT/logs/$name.log)"
}

stop_server() {
	local _ p
	[ -n "$SRV_PID" ] || return 0
	stop_sampler
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	# Children left behind by a forking server: ours, killed by PID.
	if [ -n "$SRV_CG" ]; then
		for _ in $(seq 50); do
			# (cgroup files have no size: read them)
			[ -n "$(cat "$SRV_CG/cgroup.procs")" ] || break
			while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$SRV_CG/cgroup.procs"
			sleep 0.1
		done
		rmdir "$SRV_CG" 2>/dev/null || log "warning: cannot remove $SRV_CG"
	fi
	SRV_PID=""
	SRV_CG=""
}

# Server CPU in microseconds: the cgroup's usage (all processes, live and exited), or the main
# process's utime+stime+cutime+cstime (children reaped with wait() only).
server_cpu_us() {
	if [ -n "$SRV_CG" ]; then
		awk '$1 == "usage_usec" {print $2}' "$SRV_CG/cpu.stat"
	else
		awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print int(($12 + $13 + $14 + $15) * 1e6 / hz)}' \
			"/proc/$SRV_PID/stat"
	fi
}

# Wait (up to 10 s) until a forking server's per-transfer processes have exited, so their CPU
# is in the count.
wait_children() {
	local _
	for _ in $(seq 100); do
		[ -z "$(cat /proc/"$SRV_PID"/task/*/children 2>/dev/null | tr -d ' \n')" ] && return 0
		sleep 0.1
	done
	log "warning: $SRV_NAME still has children 10 s after the load ended"
}

# Peak memory of forking servers' children: every 0.5 s, the sum of their PSS (shared pages
# divided among the sharers, so the sum is the real footprint; summed RSS would count libc once
# per process). Result in kB in $OUT/sampler.out.
start_sampler() {
	rm -f "$OUT/sampler.out"
	python3 - "$SRV_PID" "$OUT/sampler.out" <<'EOF' &
import glob, os, signal, sys, time
main, out = sys.argv[1], sys.argv[2]
peak, stop = 0, False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
while not stop:
    kids = set()
    for f in glob.glob(f"/proc/{main}/task/*/children"):
        try:
            kids.update(open(f).read().split())
        except OSError:
            pass
    total = 0
    for k in kids:
        try:
            for line in open(f"/proc/{k}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    peak = max(peak, total)
    time.sleep(0.5)
open(out, "w").write(f"{peak}\n")
EOF
	SAMPLER_PID=$!
}

stop_sampler() {
	[ -n "$SAMPLER_PID" ] || return 0
	kill -TERM "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=""
}

# ---------------------------------------------------------------------------------------------
# Runs. Each writes one JSON line to results.jsonl.

# run_load SERVER ROW REP TFTPLOAD-ARGS...
run_load() {
	local srv=$1 row=$2 rep=$3 cpu0 cpu1 res hwm pss=0
	shift 3
	cpu0=$(server_cpu_us)
	local deadline=120 a prev=""
	for a in "$@"; do
		[ "$prev" = --deadline-s ] && deadline=$a
		prev=$a
	done
	res=$(timeout $((deadline + 30)) $PIN_NOW ip netns exec "$NS" "$OUT/tftpload" --server "$SERVER" \
		--json "$@" 2>>"$OUT/logs/tftpload.log") || true
	[ -n "$res" ] || res='{"completed":0,"failed":-1}'
	wait_children
	cpu1=$(server_cpu_us)
	hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$SRV_PID/status" 2>/dev/null || echo 0)
	if [ -n "$SAMPLER_PID" ]; then
		stop_sampler
		pss=$(cat "$OUT/sampler.out" 2>/dev/null || echo 0)
	fi
	printf '{"server":"%s","row":"%s","rep":%s,"client":"tftpload","srv_cpu_s":%s,"srv_hwm_kb":%s,"srv_children_pss_kb":%s,"load":%s}\n' \
		"$srv" "$row" "$rep" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.4f", (b - a) / 1e6}')" \
		"${hwm:-0}" "${pss:-0}" "$res" >>"$OUT/results.jsonl"
	log "$srv $row #$rep: $(summary "$res")"
}

summary() {
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
print("%s/%s ok, %.1f MB/s, p99 %.3f s, client cpu %.2f s, bs %s w %s %s" % (r.get("completed"),
      r.get("clients", "?"), r.get("mbps", 0), r.get("p99_s", 0),
      r.get("cpu_user_s", 0) + r.get("cpu_sys_s", 0), r.get("neg_blksize"), r.get("neg_windowsize"),
      r.get("fail_reasons", "")))' "$1"
}

# run_atftp SERVER ROW REP WINDOW: the atftp client, timed by bash (wall, user, sys).
run_atftp() {
	local srv=$1 row=$2 rep=$3 w=$4 t rc=0
	t=$($PIN_NOW ip netns exec "$NS" bash -c 'TIMEFORMAT="%3R %3U %3S"
		{ time timeout 120 atftp --option "blksize 1468" --option "windowsize $0" \
			-g -r "$1" -l /dev/null 127.0.0.1 "$2" >/dev/null 2>&1; } 2>&1' \
		"$w" "$LOCK_FILE" "$PORT") || rc=$?
	# `time` prints even when atftp fails; a failure (exit 255) is recorded as such.
	if ! [[ $t =~ ^[0-9.]+\ [0-9.]+\ [0-9.]+$ ]]; then
		t="0 0 0"
		rc=1
	fi
	set -- $t
	printf '{"server":"%s","row":"%s","rep":%s,"client":"atftp","load":{"clients":1,"completed":%d,"failed":%d,"wall_s":%s,"mbps":%s,"cpu_user_s":%s,"cpu_sys_s":%s,"neg_blksize":1468,"neg_windowsize":%s}}\n' \
		"$srv" "$row" "$rep" $((rc == 0)) $((rc != 0)) "$1" \
		"$(awk -v s="$LOCK_SIZE" -v t="$1" 'BEGIN {printf "%.3f", (t > 0) ? s / t / 1e6 : 0}')" \
		"$2" "$3" "$w" >>"$OUT/results.jsonl"
	log "$srv $row #$rep: atftp rc=$rc wall $1 s"
}

# Does SERVER grant windowsize? Asks for 4 on the probe file.
supports_window() {
	ip netns exec "$NS" "$OUT/tftpload" --server "$SERVER" --file probe.bin --expect-size 1000 \
		--blksize 512 --windowsize 4 --json --deadline-s 10 | grep -q '"neg_windowsize":4,'
}

# Untimed correctness check: the whole lock-step file, sha256-verified, lock-step and windowed.
verify_server() {
	local srv=$1 w=1 res
	[ "${WINDOWED[$srv]}" = 1 ] && w=16
	res=$(ip netns exec "$NS" "$OUT/tftpload" --server "$SERVER" --file "$LOCK_FILE" \
		--blksize 1468 --windowsize "$w" --expect-sha256 "$LOCK_SHA" --json --deadline-s 120) ||
		die "$srv failed the sha256 check of $LOCK_FILE: $res"
	log "$srv: $LOCK_FILE sha256 verified (blksize 1468, windowsize $w)"
}

# One client: lock-step rows at every blksize, then windowed rows (tftpload and atftp).
single_client_rows() {
	local srv=$1 rep=$2 bs w
	for bs in $BLKSIZES; do
		run_load "$srv" "lock:$bs" "$rep" --file "$LOCK_FILE" --blksize "$bs" \
			--expect-size "$LOCK_SIZE" --deadline-s 120
	done
	[ "${WINDOWED[$srv]}" = 1 ] || return 0
	for w in $WINDOWS; do
		run_load "$srv" "win:$w" "$rep" --file "$LOCK_FILE" --blksize 1468 --windowsize "$w" \
			--expect-size "$LOCK_SIZE" --deadline-s 120
		run_atftp "$srv" "win-atftp:$w" "$rep" "$w"
	done
}

# N clients at once, each fetching the concurrent file lock-step at blksize 1468 (as PXE ROMs
# do), on a freshly started server so peak memory belongs to this row.
conc_mib() {
	if [ "$1" -ge 1000 ]; then echo "$CONC_MIB_1000"; else echo "$CONC_MIB"; fi
}

conc_row() {
	local srv=$1 n=$2 rep=$3 deadline mib
	mib=$(conc_mib "$n")
	# Bounded: the slowest plausible server (40 MB/s aggregate) plus a minute.
	deadline=$((n * mib * 1048576 / 40000000 + 60))
	start_server "$srv"
	[ "$srv" = tftpd-hpa ] && start_sampler
	run_load "$srv" "conc:$n" "$rep" --file "conc-${mib}m.bin" --blksize 1468 --clients "$n" \
		--concurrency "$n" --expect-size $((mib << 20)) --timeout-ms 1000 --retries 5 \
		--deadline-s "$deadline"
	stop_server
}

write_meta() {
	local s
	{
		printf '{"date":"%s","quick":%s,"repeats":%s,"repeats_1000":%s,' "$(date -u +%Y-%m-%dT%H:%MZ)" \
			"$QUICK" "$REPEATS" "$REPEATS_1000"
		printf '"nproc":%s,"kernel":"%s","cpu":"%s","mem_gib":%s,' "$(nproc)" "$(uname -r)" \
			"$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
			"$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
		printf '"lock_mib":%s,"reference":%s,"pin":"%s","conc_mib":{' "$LOCK_MIB" "$REFERENCE" "$PIN"
		local sep=""
		for s in $CONC_CLIENTS; do
			printf '%s"%s":%s' "$sep" "$s" "$(conc_mib "$s")"
			sep=,
		done
		printf '},"conc_clients":"%s","peers":"%s","note":"%s","versions":{' \
			"$CONC_CLIENTS" "$PEERS" "$(printf '%s' "${BENCH_NOTE:-}" | tr -d '"\\')"
		for s in $PEERS atftp; do
			printf '"%s":"%s",' "$s" "$(peer_version "$s" | tr -d '"\\' | xargs)"
		done
		printf '"tftpload":"bench/tftpload.c"},"cgroup":%s,"windowed":{' "$([ -n "$CG" ] && echo true || echo false)"
		sep=""
		for s in $PEERS; do
			printf '%s"%s":%s' "$sep" "$s" "${WINDOWED[$s]}"
			sep=,
		done
		printf '}}\n'
	} >"$OUT/meta.json"
}

# ---------------------------------------------------------------------------------------------
# Report: medians over repetitions, ratios to the best peer, markdown. `report DIR` prints the
# section; `report DIR --update FILE` replaces it between the markers in FILE.

report() {
	python3 - "$@" <<'PY'
import json, os, statistics, sys
from collections import defaultdict

out = sys.argv[1]
update = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--update" else None
meta = json.load(open(os.path.join(out, "meta.json")))
runs = defaultdict(list)
for line in open(os.path.join(out, "results.jsonl")):
    r = json.loads(line)
    runs[(r["server"], r["row"])].append(r)

servers = meta["peers"].split()
peers = [s for s in servers if s != "pxed"]
ref = bool(meta.get("reference"))  # the floor server: shown, never a peer
has_pxed = "pxed" in servers
GIB = 1 << 30

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def metric(srv, row, name):
    rs = runs.get((srv, row))
    if not rs:
        return None
    vals = []
    for r in rs:
        l = r["load"]
        if l.get("failed", 0) < 0:
            continue
        if name == "mbps":
            vals.append(l.get("mbps"))
        elif name == "p50":
            vals.append(l.get("p50_s") if l.get("completed") else None)
        elif name == "p99":
            vals.append(l.get("p99_s") if l.get("completed") else None)
        elif name == "client_pct":
            w = l.get("wall_s") or 0
            vals.append(100 * (l.get("cpu_user_s", 0) + l.get("cpu_sys_s", 0)) / w if w else None)
        elif name == "cpu_gib":
            b = l.get("bytes") or 0
            vals.append(r["srv_cpu_s"] / (b / GIB) if b and "srv_cpu_s" in r else None)
        elif name == "rss_mib":
            kb = r.get("srv_hwm_kb", 0) + r.get("srv_children_pss_kb", 0)
            vals.append(kb / 1024 if kb else None)
    return med(vals)

def counts(srv, row):
    rs = runs.get((srv, row), [])
    ok = sum(max(r["load"].get("completed", 0), 0) for r in rs)
    total = sum(r["load"].get("clients", 1) for r in rs)
    reasons = defaultdict(int)
    for r in rs:
        for k, v in r["load"].get("fail_reasons", {}).items():
            reasons[k] += v
    return ok, total - ok, dict(reasons), len(rs)

def best(row, name, higher, srvs=None):
    """The best peer's value: highest (or lowest) median among peers. Only peers that
    completed every transfer count, unless none did: dropping clients flatters every figure."""
    cands = []
    for s in srvs if srvs is not None else peers:
        v = metric(s, row, name)
        if v is None:
            continue
        ok, failed, _, n = counts(s, row)
        cands.append((v, failed == 0, s))
    if not cands:
        return None, None
    if any(c[1] for c in cands):
        cands = [c for c in cands if c[1]]
    v, _, s = (max if higher else min)(cands, key=lambda c: c[0])
    return v, s

def fmt(v, digits=1):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}" if abs(v) >= 1 else f"{v:.{max(digits, 2)}f}"

def ratio(v, b):
    return f"{v / b:.2f}×" if v is not None and b else "—"

def client_note(c):
    """The load generator's CPU share, flagged when it likely set the pace."""
    if c is None:
        return ""
    return f" {cl} {c:.0f}%" + (" ⚠" if c >= 90 else "")

def neg_note(srv, row, bs=None, w=None):
    rs = runs.get((srv, row), [])
    notes = set()
    for r in rs:
        l = r["load"]
        if bs and l.get("neg_blksize") and l["neg_blksize"] != bs:
            notes.add(f"blksize {l['neg_blksize']}")
        if w and l.get("neg_windowsize") and l["neg_windowsize"] != w:
            notes.add(f"windowsize {l['neg_windowsize']}")
    return f" ({', '.join(sorted(notes))})" if notes else ""

L = []
p = L.append
cl = "cl"
reps = meta["repeats"]
p("<!-- bench:tftp:start -->")
p("<!-- generated by bench/tftp.sh; edit the text outside these markers -->")
p("")
p(f"Run **{meta['date']}**{' (--quick: reduced sizes, not for comparison)' if meta['quick'] else ''}: "
  f"{meta['nproc']} CPUs ({meta['cpu']}), kernel {meta['kernel']}, {meta['mem_gib']} GiB RAM. "
  f"Median of {reps} run{'s' if reps != 1 else ''} per row"
  + (f" ({meta['repeats_1000']} for 1000 clients)" if "1000" in meta["conc_clients"].split() else "")
  + ".")
p("")
if meta.get("note"):
    p(f"> {meta['note']}")
    p("")
p("Versions: " + " · ".join(f"{k}: {v}" for k, v in meta["versions"].items() if k != "tftpload")
  + ". Load generator: `bench/tftpload.c` (and the atftp client where named).")
p("")
p("In each cell: the median, then in parentheses the ratio to the **best peer** (the best of "
  + ", ".join(peers) + ": highest MB/s, lowest p99, lowest CPU/GiB, among the peers that "
  "completed every transfer). "
  "`cl N%` is the load generator's own CPU time as a share of one core over the run: "
  "near 100% (flagged ⚠ from 90%) means the client, not the server, set the pace.")
p("")

# One client, lock-step.
if meta.get("pin"):
    p(f"One-client rows: server and client pinned to CPU {meta['pin']} (`PIN`).")
    p("")
p(f"### One client, lock-step (windowsize 1), {meta['lock_mib']} MiB — MB/s")
p("")
p("| blksize | " + " | ".join(servers) + (" | pxed / best peer |" if has_pxed else " |"))
p("|---:|" + "---:|" * len(servers) + ("---:|" if has_pxed else ""))
for bs in (512, 1468, 8192, 65464):
    row = f"lock:{bs}"
    b, bs_srv = best(row, "mbps", True)
    cells = []
    for s in servers:
        v = metric(s, row, "mbps")
        c = metric(s, row, "client_pct")
        ok, failed, _, n = counts(s, row)
        cell = f"{fmt(v)} ({ratio(v, b)})" + client_note(c)
        cell += neg_note(s, row, bs=bs)
        if failed:
            cell += f" **{failed} failed**"
        cells.append(cell if v is not None else "—")
    line = f"| {bs} | " + " | ".join(cells)
    if has_pxed:
        line += f" | **{ratio(metric('pxed', row, 'mbps'), b)}**" + (f" (vs {bs_srv})" if bs_srv else "")
    p(line + " |")
p("")

# One client, windowed.
win = meta["windowed"]
wsrv = [s for s in servers if win.get(s)]
wpeers = [s for s in peers if win.get(s)]
nowin = [s for s in servers if not win.get(s)]
p(f"### One client, windowed (RFC 7440), blksize 1468, {meta['lock_mib']} MiB — MB/s")
p("")
if nowin:
    p("Not granting `windowsize` (they answer without it, so a windowed client runs lock-step): "
      + ", ".join(nowin) + ". Best peer here: the best of " + (", ".join(wpeers) or "none") + ".")
    p("")
REF = "floor (reference, not a peer)"
wcols = wsrv + (["floor"] if ref else [])
if wsrv:
    p("| windowsize | client | " + " | ".join(s if s != "floor" else REF for s in wcols)
      + (" | pxed / best peer |" if has_pxed and "pxed" in wsrv else " |"))
    p("|---:|---|" + "---:|" * len(wcols) + ("---:|" if has_pxed and "pxed" in wsrv else ""))
    for w in (4, 16, 64):
        for client, row in (("tftpload", f"win:{w}"), ("atftp", f"win-atftp:{w}")):
            b, bs_srv = best(row, "mbps", True, wpeers)
            cells = []
            for s in wcols:
                v = metric(s, row, "mbps")
                c = metric(s, row, "client_pct")
                ok, failed, _, n = counts(s, row)
                cell = f"{fmt(v)} ({ratio(v, b)})" + client_note(c)
                if client == "tftpload":
                    cell += neg_note(s, row, bs=1468, w=w)
                if failed:
                    cell += f" **{failed} failed**"
                cells.append(cell if v is not None else "—")
            line = f"| {w} | {client} | " + " | ".join(cells)
            if has_pxed and "pxed" in wsrv:
                line += f" | **{ratio(metric('pxed', row, 'mbps'), b)}**"
            p(line + " |")
    p("")

# Concurrent clients.
for n in meta["conc_clients"].split():
    row = f"conc:{n}"
    nrep = meta["repeats_1000"] if int(n) >= 1000 else reps
    p(f"### {n} clients at once, {meta['conc_mib'][n]} MiB each, blksize 1468 lock-step"
      + (f" ({nrep} run{'s' if nrep != 1 else ''})" if nrep != reps else ""))
    p("")
    sizes = sorted(set(meta["conc_mib"].values()))
    if len(sizes) > 1 and meta["conc_mib"][n] != max(sizes):
        p(f"Bounded: {meta['conc_mib'][n]} MiB per client instead of {max(sizes)} keeps the whole "
          f"run near 20 minutes; `CONC_MIB_1000={max(sizes)} REPEATS_1000=3 bench/tftp.sh` runs the full size.")
        p("")
    p("| server | completed / failed | p50 s | p99 s | aggregate MB/s | server CPU s/GiB | peak RSS MiB | client CPU |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    bp99, _ = best(row, "p99", False)
    bmb, _ = best(row, "mbps", True)
    bcpu, _ = best(row, "cpu_gib", False)
    rows = servers + (["dnsmasq-default"] if "dnsmasq" in servers else []) + (["floor"] if ref else [])
    for s in rows:
        if (s, row) not in runs:
            continue
        ok, failed, reasons, nr = counts(s, row)
        name = {"dnsmasq-default": "dnsmasq, default `--tftp-max` (50), 1 run",
                "floor": "floor (reference, not a peer)"}.get(s, s)
        fl = f"{ok} / {failed}" + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ")" if reasons else "")
        p99, mb, cpu = metric(s, row, "p99"), metric(s, row, "mbps"), metric(s, row, "cpu_gib")
        rss = metric(s, row, "rss_mib")
        c = metric(s, row, "client_pct")
        if c is None:
            p(f"| {name} | {fl} | — | — | — | — | — | — |")
            continue
        # A p99 over the completed transfers only flatters a server that failed some.
        p99r = ratio(p99, bp99) if not failed else "n/a: failures"
        p(f"| {name} | {fl} | {fmt(metric(s, row, 'p50'), 2)} | {fmt(p99, 2)} ({p99r}) | "
          f"{fmt(mb)} ({ratio(mb, bmb)}) | {fmt(cpu, 2)} ({ratio(cpu, bcpu)}) | "
          f"{fmt(rss)}{' †' if s == 'tftpd-hpa' else ''} | {c:.0f}%{' ⚠' if c >= 90 else ''} |")
    if has_pxed and ("pxed", row) in runs:
        p(f"| **pxed / best peer** | | | **{ratio(metric('pxed', row, 'p99'), bp99)}** | "
          f"**{ratio(metric('pxed', row, 'mbps'), bmb)}** | **{ratio(metric('pxed', row, 'cpu_gib'), bcpu)}** | | |")
    if has_pxed and ("pxed", row) in runs and ("floor", row) in runs:
        fcpu, fmb = metric("floor", row, "cpu_gib"), metric("floor", row, "mbps")
        p(f"| pxed / floor | | | | {ratio(metric('pxed', row, 'mbps'), fmb)} | "
          f"{ratio(metric('pxed', row, 'cpu_gib'), fcpu)} | | |")
        p(f"| best peer / floor | | | | {ratio(bmb, fmb)} | {ratio(bcpu, fcpu)} | | |")
    p("")
if ref:
    p("Floor (`REFERENCE=1`): `bench/tftp-floor.c`, a minimal epoll server that answers RRQs "
      "(OACK, a connected socket per transfer, windows as one GSO send) with DATA from one "
      "preallocated buffer: no file I/O, timers, retransmission or logging. What no server "
      "can do with less CPU on this kernel and client; not a peer, never in the ratios.")
    p("")
p("† tftpd-hpa forks one process per transfer: its figure is the parent's VmHWM plus the peak "
  "(sampled every 0.5 s) of its children's summed PSS. Others: VmHWM of the one server process.")
p("")
p("Peer settings: dnsmasq `--tftp-max=2000 --edns-packet-max=65535` (defaults: 50 transfers, and a "
  "2263-byte blksize cap from its 1232-byte EDNS buffer); atftpd `--maxthread 450` (default 100; with 600 or more, descriptors pass FD_SETSIZE in its select() loop and glibc aborts it); "
  "tftpd-hpa `-B 65464` (its default maximum; no concurrency cap: one process per transfer); "
  "pxed `tftp.max-transfers=2000 tftp.max-per-client=2000`. Raw data: `bench/out/` of the run.")
p("<!-- bench:tftp:end -->")
text = "\n".join(L) + "\n"

if not update:
    sys.stdout.write(text)
    sys.exit(0)
start, end = "<!-- bench:tftp:start -->", "<!-- bench:tftp:end -->"
doc = open(update).read() if os.path.exists(update) else "# Benchmarks\n\n"
if start in doc and end in doc:
    a = doc.index(start)
    b = doc.index(end) + len(end)
    doc = doc[:a] + text.rstrip("\n") + doc[b:]
else:
    doc = doc.rstrip("\n") + "\n\n" + text
open(update, "w").write(doc)
PY
}

# ---------------------------------------------------------------------------------------------

main() {
	local s rep n reps
	declare -gA WINDOWED
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	setup
	log "output in $OUT; peers: $PEERS; repeats $REPEATS (1000-client row: $REPEATS_1000)"

	for s in $PEERS; do
		start_server "$s"
		WINDOWED[$s]=0
		supports_window && WINDOWED[$s]=1
		log "$s: windowsize $([ "${WINDOWED[$s]}" = 1 ] && echo granted || echo not granted)"
		verify_server "$s"
		stop_server
	done
	write_meta

	[ -n "$PIN" ] && PIN_NOW="taskset -c $PIN"
	for rep in $(seq "$REPEATS"); do
		for s in $PEERS; do
			start_server "$s"
			single_client_rows "$s" "$rep"
			stop_server
		done
		if [ "$REFERENCE" = 1 ]; then
			start_server floor
			run_load floor win:4 "$rep" --file "$LOCK_FILE" --blksize 1468 --windowsize 4 \
				--expect-size "$LOCK_SIZE" --deadline-s 120
			run_atftp floor win-atftp:4 "$rep" 4
			stop_server
		fi
	done
	PIN_NOW=""

	for n in $CONC_CLIENTS; do
		reps=$REPEATS
		[ "$n" -ge 1000 ] && reps=$REPEATS_1000
		for rep in $(seq "$reps"); do
			for s in $PEERS; do
				conc_row "$s" "$n" "$rep"
			done
			[ "$REFERENCE" = 1 ] && conc_row floor "$n" "$rep"
		done
		# dnsmasq as shipped: --tftp-max defaults to 50 concurrent transfers.
		if in_peers dnsmasq; then
			conc_row dnsmasq-default "$n" 1
		fi
	done

	report "$OUT" >"$OUT/report.md"
	log "report: $OUT/report.md"
	if [ "$DOCS" = 1 ]; then
		report "$OUT" --update "$REPO/docs/benchmarks.md"
		log "updated docs/benchmarks.md"
	fi
}

main
