#!/usr/bin/env bash
# bench/dhcp.sh - DHCP benchmark: pxed against Kea (memfile, persist) and dnsmasq, with perfdhcp.
#
#   sudo bench/dhcp.sh [--quick] [--docs | --no-docs]
#
# For each server in turn: a fresh pair of network namespaces joined by a veth pair (server
# 198.18.0.1, perfdhcp 198.18.0.2, which relays: giaddr 198.18.0.2, so every server serves
# 198.18.0.0/15 with 130,815 addresses), the server pinned to one CPU and perfdhcp (-g single)
# to the other. The offered rate is stepped up (RATES) with a fresh lease store and new clients
# for every run, REPEATS runs per rate, until the median run loses more than LOSS_MAX % of its
# exchanges (lost, or slower than 1 s) or perfdhcp cannot offer the rate any more. At the
# highest passing rate: completed DORA/s, delays, duplicate addresses, server CPU per lease,
# perfdhcp's CPU. Then a sustained run at that rate until SUSTAIN_CLIENTS distinct clients hold
# leases (at most SUSTAIN_MAX_SECS): the completion rate of the first and the last WINDOW leases.
# Raw output goes to bench/out/dhcp-DATE/; the table to docs/benchmarks.md between the
# bench:dhcp markers (full runs only, unless --docs). Method: bench/dhcp-README.md.
#
# Environment:
#   PEERS="pxed kea dnsmasq"   servers, in this order (pxed's ratios are against the others)
#   PXED=build/pxed            the pxed binary (build it with --buildtype=release)
#   RATES="250 500 ... 40000"  offered rates to step through (per second)
#   REPEATS=3                  runs per point (median reported); --quick sets 1
#   STEP_SECS=5                seconds per rate step (fewer when the pool would not last)
#   LOSS_MAX=2.5               % of exchanges allowed lost or slower than 1 s
#   SUSTAIN_CLIENTS=100000 WINDOW=10000 SUSTAIN_MAX_SECS=90 SUSTAIN_REPEATS=$REPEATS
#   SERVER_CPU=0 CLIENT_CPU=1  CPUs to pin to (empty: no pinning)
#   STATE_BASE=/var/tmp        where lease stores live (must be a real disk, not tmpfs)
#   CLIENT_RCVBUF=8388608      perfdhcp's UDP receive buffer (bench/dhcp-rcvbuf.c, LD_PRELOAD);
#                              0: the kernel default (net.core.rmem_default)
#   BUDGET_SECS=1500           no new rate step starts after this many seconds
#   BENCH_NOTE="..."           a line quoted at the top of the report (e.g. the machine's state)
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
		echo "dhcp.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done
[ "$DOCS" = auto ] && DOCS=$((1 - QUICK))

PEERS=${PEERS:-"pxed kea dnsmasq"}
PXED=${PXED:-$REPO/build/pxed}
case "$PXED" in /*) ;; *) PXED="$(pwd)/$PXED" ;; esac
LOSS_MAX=${LOSS_MAX:-2.5}
SERVER_CPU=${SERVER_CPU-0}
CLIENT_CPU=${CLIENT_CPU-1}
STATE_BASE=${STATE_BASE:-/var/tmp}
BUDGET_SECS=${BUDGET_SECS:-1500}
CLIENT_RCVBUF=${CLIENT_RCVBUF:-8388608}
PD_ENV=() # prefix of every perfdhcp command (the receive-buffer shim)
if [ "$QUICK" = 1 ]; then
	RATES=${RATES:-"500 2000 8000 16000"}
	REPEATS=${REPEATS:-1}
	STEP_SECS=${STEP_SECS:-2}
	SUSTAIN_CLIENTS=${SUSTAIN_CLIENTS:-20000}
	WINDOW=${WINDOW:-2000}
	SUSTAIN_MAX_SECS=${SUSTAIN_MAX_SECS:-15}
else
	RATES=${RATES:-"250 500 1000 2000 3500 5000 7500 10000 12500 15000 17500 20000 25000 30000 40000"}
	REPEATS=${REPEATS:-3}
	STEP_SECS=${STEP_SECS:-5}
	SUSTAIN_CLIENTS=${SUSTAIN_CLIENTS:-100000}
	WINDOW=${WINDOW:-10000}
	SUSTAIN_MAX_SECS=${SUSTAIN_MAX_SECS:-90}
fi
SUSTAIN_REPEATS=${SUSTAIN_REPEATS:-$REPEATS}
POOL_MAX=125000 # clients per run: the pool 198.18.1.0-198.19.255.254 has 130,815 addresses
SERVER=198.18.0.1
OUT=$REPO/bench/out/dhcp-$(date +%Y%m%d-%H%M%S)
RESULTS=$OUT/results.jsonl
REPORT="python3 $REPO/bench/dhcp-report.py"
SNS=pxdbs$$ # server namespace (recreated per server)
CNS=pxdbc$$ # client namespace
SRV_PID=""
PD_PID=""
SRV_DIR=""
CLK_TCK=$(getconf CLK_TCK)
T0=$(date +%s)
RUN_SEQ=0
declare -A BEST LIMITED

log() { printf '%s dhcp.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# Set-up: packages (Kea's services masked first: nothing may start as a system service).

ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
		>"$OUT/logs/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed (see $OUT/logs/apt.log)"
}

mask_kea_services() {
	command -v systemctl >/dev/null 2>&1 || return 0
	local u
	for u in kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent kea-dhcp-ddns-server; do
		systemctl stop "$u" >/dev/null 2>&1 || true
		systemctl mask "$u" >/dev/null 2>&1 || true
	done
}

in_peers() { [[ " $PEERS " == *" $1 "* ]]; }

setup() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces, port 67)"
	mkdir -p "$OUT/logs" "$OUT/runs"
	local pkgs=(iproute2 python3 procps util-linux kea-admin) s
	[ "$CLIENT_RCVBUF" != 0 ] && pkgs+=(gcc libc6-dev)
	in_peers kea && pkgs+=(kea-dhcp4-server) && mask_kea_services
	in_peers dnsmasq && pkgs+=(dnsmasq-base)
	ensure_pkgs "${pkgs[@]}"
	in_peers kea && mask_kea_services
	for s in $PEERS; do
		case $s in pxed | kea | dnsmasq) ;; *) die "unknown server $s in PEERS" ;; esac
	done
	if in_peers pxed; then
		[ -x "$PXED" ] || die "no pxed binary at $PXED (build it, set PXED=, or drop it from PEERS)"
	fi
	command -v perfdhcp >/dev/null || die "no perfdhcp (package kea-admin)"
	if [ "$CLIENT_RCVBUF" != 0 ]; then
		cc -O2 -shared -fPIC -o "$OUT/dhcp-rcvbuf.so" "$REPO/bench/dhcp-rcvbuf.c" -ldl ||
			die "cannot build bench/dhcp-rcvbuf.c (CLIENT_RCVBUF=0 runs without it)"
		PD_ENV=(env "PXED_BENCH_RCVBUF=$CLIENT_RCVBUF" "LD_PRELOAD=$OUT/dhcp-rcvbuf.so")
	fi
	mkdir -p "$STATE_BASE"
	[ "$(findmnt -n -o FSTYPE -T "$STATE_BASE")" = tmpfs ] &&
		log "warning: $STATE_BASE is tmpfs: fsync costs nothing there, pxed's durability is free"
	if [ -n "$SERVER_CPU" ] && [ "$(nproc)" -lt 2 ]; then
		SERVER_CPU=""
		CLIENT_CPU=""
	fi
	return 0
}

# fsync latency (ms) of a 4 KiB write on STATE_BASE's file system.
fsync_ms() {
	python3 - "$STATE_BASE" <<'PY'
import os, sys, tempfile, time
fd, p = tempfile.mkstemp(dir=sys.argv[1])
n = 200
t = time.perf_counter()
for i in range(n):
    os.pwrite(fd, b"x" * 4096, 4096 * i)
    os.fsync(fd)
print("%.2f" % ((time.perf_counter() - t) / n * 1000))
os.close(fd)
os.unlink(p)
PY
}

cleanup() {
	local rc=$?
	set +e
	[ -n "$PD_PID" ] && kill -KILL "$PD_PID" 2>/dev/null
	stop_server
	ip netns del "$SNS" 2>/dev/null
	ip netns del "$CNS" 2>/dev/null
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make_ns() {
	ip netns del "$SNS" 2>/dev/null || true
	ip netns del "$CNS" 2>/dev/null || true
	ip netns add "$SNS"
	ip netns add "$CNS"
	ip -n "$SNS" link set lo up
	ip -n "$CNS" link set lo up
	ip -n "$SNS" link add veth0 type veth peer name veth0 netns "$CNS"
	ip -n "$SNS" addr add 198.18.0.1/24 dev veth0
	ip -n "$CNS" addr add 198.18.0.2/24 dev veth0
	ip -n "$SNS" link set veth0 up
	ip -n "$CNS" link set veth0 up
	local i
	for i in $(seq 1 50); do
		ip -n "$CNS" link show veth0 | grep -q LOWER_UP &&
			ip -n "$SNS" link show veth0 | grep -q LOWER_UP && break
		sleep 0.1
	done
	[ "$i" -lt 50 ] || die "veth pair did not come up"
	# Static neighbours: no ARP resolution in the measured path.
	ip -n "$SNS" neigh replace 198.18.0.2 dev veth0 nud permanent \
		lladdr "$(ip -n "$CNS" -br link show veth0 | awk '{print $3}')"
	ip -n "$CNS" neigh replace 198.18.0.1 dev veth0 nud permanent \
		lladdr "$(ip -n "$SNS" -br link show veth0 | awk '{print $3}')"
}

# ---------------------------------------------------------------------------------------------
# Servers: each starts with a fresh lease store in $SRV_DIR, in $SNS, on 198.18.0.1:67.

pin() { [ -n "$1" ] && echo "taskset -c $1" || true; }

start_server() {
	local name=$1
	SRV_DIR=$(mktemp -d "$STATE_BASE/pxed-dhcpbench.XXXXXX")
	local log=$OUT/logs/$name.$RUN_SEQ.log
	case $name in
	pxed)
		ip netns exec "$SNS" $(pin "$SERVER_CPU") "$PXED" serve -o dhcp.mode=server \
			-o tftp.enabled=no -o "server.state-dir=$SRV_DIR" -o server.log-level=warning \
			-o subnet.b.network=198.18.0.0/15 -o "subnet.b.range=198.18.1.0 198.19.255.254" \
			>"$log" 2>&1 &
		;;
	kea)
		cat >"$SRV_DIR/kea.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "veth0" ], "dhcp-socket-type": "udp" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$SRV_DIR/kea-leases4.csv" },
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "198.18.0.0/15",
                 "pools": [ { "pool": "198.18.1.0 - 198.19.255.254" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                 "output_options": [ { "output": "$SRV_DIR/kea.log" } ] } ]
} }
EOF
		KEA_PIDFILE_DIR=$SRV_DIR KEA_LOCKFILE_DIR=$SRV_DIR ip netns exec "$SNS" \
			$(pin "$SERVER_CPU") kea-dhcp4 -c "$SRV_DIR/kea.json" >"$log" 2>&1 &
		;;
	dnsmasq)
		ip netns exec "$SNS" $(pin "$SERVER_CPU") dnsmasq --keep-in-foreground \
			--conf-file=/dev/null --port=0 --interface=veth0 --user=root --group=root \
			--dhcp-range=198.18.1.0,198.19.255.254,255.254.0.0,1h \
			--dhcp-leasefile="$SRV_DIR/dnsmasq.leases" --dhcp-lease-max=200000 \
			--dhcp-authoritative --no-ping --quiet-dhcp --pid-file="$SRV_DIR/dnsmasq.pid" \
			--log-facility="$SRV_DIR/dnsmasq.log" >"$log" 2>&1 &
		;;
	esac
	SRV_PID=$!
	local i
	for i in $(seq 1 150); do
		if ip netns exec "$SNS" ss -Huln 'sport = :67' 2>/dev/null | grep -q .; then
			probe_server "$log" && return 0
			tail -n 20 "$log" >&2
			die "$name does not answer 3 DORA exchanges (log: $log, probe: $log.probe)"
		fi
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$log" >&2
	die "$name did not start (log: $log)"
}

# Three DORA exchanges from clients outside the measured ones (02:ff:...): the server answers
# before the clock starts. Tries for up to 5 s.
probe_server() {
	local log=$1 i
	for i in 1 2 3 4 5; do
		"${PD_ENV[@]}" ip netns exec "$CNS" timeout 10 perfdhcp -4 -g single -r 100 -R 3 \
			-n 3 -d 1 -W 1000000 -b mac=02:ff:00:00:00:00 "$SERVER" >"$log.probe" 2>&1 &&
			return 0
		sleep 0.5
	done
	return 1
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	local i
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
	[ -n "$SRV_DIR" ] && rm -rf "$SRV_DIR"
	SRV_DIR=""
}

# UDP datagrams a namespace dropped because a socket's receive buffer was full (RcvbufErrors).
udp_errs() {
	ip netns exec "$1" awk '/^Udp:/ {
		if (!n) {
			for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i
			n = 1
		} else {
			print $c
			exit
		}
	}' /proc/net/snmp
}

# "UTIME STIME" of a process in clock ticks (all its threads, exited ones included).
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# ---------------------------------------------------------------------------------------------
# One measured run: fresh server, perfdhcp, record. run_one NAME KIND RATE REP PERIOD CLIENTS
# [extra perfdhcp args]. Prints the JSON record's summary line.

run_one() {
	local name=$1 kind=$2 rate=$3 rep=$4 period=$5 clients=$6
	shift 6
	RUN_SEQ=$((RUN_SEQ + 1))
	local out=$OUT/runs/$name-$kind-$rate-$rep.txt
	local c0 c1 p0 p1 u0 u1 rc=0 t0 t1 send_secs=$period deadline
	# A -n run stops sending once its clients are done.
	[ "$kind" = sustain ] && send_secs=$(((clients - 1000 + rate - 1) / rate))
	[ "$send_secs" -gt "$period" ] && send_secs=$period
	start_server "$name"
	read -r -a c0 <<<"$(cpu_ticks "$SRV_PID")"
	read -r -a u0 <<<"$(udp_errs "$SNS") $(udp_errs "$CNS")"
	"${PD_ENV[@]}" ip netns exec "$CNS" $(pin "$CLIENT_CPU") perfdhcp -4 -g single -r "$rate" \
		-R "$clients" -p "$period" -d 1 -W 1000000 -u -x t "$@" "$SERVER" >"$out" 2>&1 &
	PD_PID=$!
	# perfdhcp's own CPU while it sends (not while it prints -x t's timestamps at the end).
	sleep 0.1
	read -r -a p0 <<<"$(cpu_ticks "$PD_PID" 2>/dev/null || echo 0 0)"
	t0=$(date +%s.%N)
	sleep "$(awk -v s="$send_secs" 'BEGIN {print s - 0.1}')"
	read -r -a p1 <<<"$(cpu_ticks "$PD_PID" 2>/dev/null || echo "${p0[*]}")"
	t1=$(date +%s.%N)
	deadline=$((SECONDS + period + 60))
	while kill -0 "$PD_PID" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "perfdhcp still running after $((period + 60)) s: killed"
			kill -KILL "$PD_PID" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$PD_PID" || rc=$?
	PD_PID=""
	read -r -a c1 <<<"$(cpu_ticks "$SRV_PID")"
	read -r -a u1 <<<"$(udp_errs "$SNS") $(udp_errs "$CNS")"
	grep -m1 '^VmHWM' "/proc/$SRV_PID/status" >>"$out" 2>/dev/null || true
	stop_server
	$REPORT record "$out" server="$name" kind="$kind" rate="$rate" rep="$rep" \
		period="$period" clients="$clients" rc="$rc" window="$WINDOW" target="$SUSTAIN_CLIENTS" \
		srv_utime="$(awk -v a="${c0[0]}" -v b="${c1[0]}" -v t="$CLK_TCK" 'BEGIN {print (b - a) / t}')" \
		srv_stime="$(awk -v a="${c0[1]}" -v b="${c1[1]}" -v t="$CLK_TCK" 'BEGIN {print (b - a) / t}')" \
		pd_cpu="$(awk -v a="$((p0[0] + p0[1]))" -v b="$((p1[0] + p1[1]))" -v t="$CLK_TCK" \
			'BEGIN {print (b - a) / t}')" \
		pd_span="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
		srv_rcvbuf_drops=$((u1[0] - u0[0])) cli_rcvbuf_drops=$((u1[1] - u0[1])) \
		>>"$RESULTS"
	tail -n 1 "$RESULTS" | python3 -c '
import json, sys
r = json.load(sys.stdin)
f = lambda k, s="%.0f": "-" if r.get(k) is None else s % r[k]
print("%s %s %s/s #%s: offered %s/s, completed %s/s, lost %s%%, ACK delay avg %s ms, dup %s, "
      "server %s us/lease, perfdhcp CPU %s%%%s" % (r["server"], r["kind"], f("rate"), f("rep"),
      f("offered"), f("completed"), f("lost_pct", "%.2f"), f("ra_avg_ms", "%.1f"),
      f("ra_nonuniq"), f("cpu_us_lease", "%.1f"), f("pd_cpu_pct"),
      "" if r.get("first_rate") is None else ", first %s/s last %s/s" % (f("first_rate"),
      f("last_rate"))))' >&2
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || log "perfdhcp exited $rc (see $out)"
	gzip -f "$out" # a timestamp line per packet
	return 0
}

# Step the rate up for one server; sets BEST[name] (empty when no rate passed).
rate_search() {
	local name=$1 rate rep period clients v offered completed lost failed
	BEST[$name]=""
	LIMITED[$name]=""
	for rate in $RATES; do
		if [ $(($(date +%s) - T0)) -gt "$BUDGET_SECS" ]; then
			log "time budget ($BUDGET_SECS s) used up: no more rate steps"
			break
		fi
		period=$STEP_SECS
		while [ "$period" -gt 1 ] && [ $((rate * period)) -gt "$POOL_MAX" ]; do
			period=$((period - 1))
		done
		clients=$((rate * period * 11 / 10 + 100))
		[ "$clients" -gt "$POOL_MAX" ] && clients=$POOL_MAX
		for rep in $(seq 1 "$REPEATS"); do
			run_one "$name" step "$rate" "$rep" "$period" "$clients"
			read -r v offered completed lost failed \
				< <($REPORT verdict "$RESULTS" "$name" "$rate" "$LOSS_MAX")
			# A majority failed: the median fails whatever the other runs do.
			[ $((failed * 2)) -gt "$REPEATS" ] && break
		done
		log "$name at $rate/s: $v (median offered $offered/s, completed $completed/s, lost $lost %)"
		[ "$v" = pass ] || break
		BEST[$name]=$rate
		if [ "$offered" -lt $((rate * 9 / 10)) ]; then
			LIMITED[$name]=1
			log "$name: perfdhcp offered only $offered of $rate/s: the load generator is the limit"
			break
		fi
	done
}

sustain() {
	local name=$1 rate=${BEST[$1]} rep period
	[ -n "$rate" ] || rate=${RATES%% *}
	local reps=$SUSTAIN_REPEATS nsend=$((SUSTAIN_CLIENTS * 12 / 10))
	[ "$nsend" -gt "$POOL_MAX" ] && nsend=$POOL_MAX
	# Room for perfdhcp running slower than asked; -n ends the run when all were sent.
	period=$((2 * nsend / rate + 5))
	if [ "$period" -gt "$SUSTAIN_MAX_SECS" ]; then
		period=$SUSTAIN_MAX_SECS
	fi
	# A slow server (more than 30 s to the target): one run shows the trend.
	[ $((nsend / rate)) -gt 30 ] && reps=1
	for rep in $(seq 1 "$reps"); do
		# Up to 20 % more clients than the target, so that the lease table still reaches
		# it when some exchanges are lost (the pool holds 130,815).
		run_one "$name" sustain "$rate" "$rep" "$period" "$((nsend + 1000))" -n "$nsend" -t 1
	done
}

server_version() {
	case $1 in
	pxed)
		echo "pxed $("$PXED" --version 2>&1 | awk '{print $2}')" \
			"($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
		;;
	kea) echo "Kea $(kea-dhcp4 -v 2>&1 | head -1)" ;;
	dnsmasq) dnsmasq -v 2>&1 | awk 'NR == 1 {print "dnsmasq " $3}' ;;
	esac
}

# ---------------------------------------------------------------------------------------------

main() {
	setup
	local fsync name versions="perfdhcp $(perfdhcp -v 2>&1 | awk '{print $2}')"
	fsync=$(fsync_ms)
	log "output in $OUT; fsync on $STATE_BASE: $fsync ms; quick=$QUICK repeats=$REPEATS"
	for name in $PEERS; do
		versions="$versions, $(server_version "$name")"
		make_ns
		log "== $name: rate steps $RATES (${STEP_SECS} s each)"
		rate_search "$name"
		log "== $name: sustained run at ${BEST[$name]:-${RATES%% *}}/s to $SUSTAIN_CLIENTS clients"
		sustain "$name"
		ip netns del "$SNS"
		ip netns del "$CNS"
	done

	local best_json="{" sep=""
	for name in $PEERS; do
		best_json="$best_json$sep\"$name\": [${BEST[$name]:-null}, ${LIMITED[$name]:-0}]"
		sep=", "
	done
	M_DATE=$(date -u +%Y-%m-%d) M_HOST=$(hostname) M_CPUS=$(nproc) M_KERNEL=$(uname -r) \
		M_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) \
		M_FS=$(findmnt -n -o FSTYPE -T "$STATE_BASE") M_FSYNC=$fsync M_VERSIONS=$versions \
		M_BEST="$best_json}" M_OUT=${OUT#"$REPO"/} QUICK=$QUICK REPEATS=$REPEATS PEERS=$PEERS \
		RATES=$RATES STEP_SECS=$STEP_SECS LOSS_MAX=$LOSS_MAX WINDOW=$WINDOW \
		SUSTAIN_CLIENTS=$SUSTAIN_CLIENTS SUSTAIN_MAX_SECS=$SUSTAIN_MAX_SECS \
		SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU STATE_BASE=$STATE_BASE \
		CLIENT_RCVBUF=$CLIENT_RCVBUF BENCH_NOTE=${BENCH_NOTE:-} \
		python3 - "$OUT/meta.json" <<'PY'
import json, os, sys
e = os.environ
best = json.loads(e["M_BEST"])
meta = {
    "date": e["M_DATE"], "host": e["M_HOST"], "cpus": int(e["M_CPUS"]),
    "cpu_model": e["M_MODEL"], "kernel": e["M_KERNEL"], "state_base": e["STATE_BASE"],
    "state_fs": e["M_FS"], "fsync_ms": e["M_FSYNC"], "versions": e["M_VERSIONS"],
    "repeats": int(e["REPEATS"]), "quick": e["QUICK"] == "1", "servers": e["PEERS"].split(),
    "rates": [int(x) for x in e["RATES"].split()], "step_secs": int(e["STEP_SECS"]),
    "loss_max": e["LOSS_MAX"], "window": int(e["WINDOW"]),
    "sustain_clients": int(e["SUSTAIN_CLIENTS"]), "server_cpu": e["SERVER_CPU"],
    "client_cpu": e["CLIENT_CPU"], "out": e["M_OUT"],
    "best": {k: v[0] for k, v in best.items()}, "limited": {k: bool(v[1]) for k, v in best.items()},
    "note": e.get("BENCH_NOTE", ""),
    "notes": [
        "Lost or slower than 1 s = (DISCOVERs sent - ACKs received + OFFERs and ACKs that took "
        "more than 1 s) / DISCOVERs sent. perfdhcp's own drop count misses late replies that "
        "arrive in order, so the slow ones are counted from its per-packet timestamps (-x t, on "
        "in every run). Completed DORA/s = ACKs received / sending period.",
        "Server CPU = utime + stime of the server process (/proc/PID/stat) during the run, "
        "divided by the ACKs received; perfdhcp CPU = its user + system time / sending period.",
        ("perfdhcp's UDP receive buffer: %s (LD_PRELOAD shim bench/dhcp-rcvbuf.c): pxed answers a "
         "whole batch after one commit, and bursts of replies overflow the kernel default "
         "(208 KiB) while single-threaded perfdhcp is busy sending; the last column shows the "
         "datagrams each side still dropped." % ("%d bytes" % int(e["CLIENT_RCVBUF"])
                                                  if e["CLIENT_RCVBUF"] != "0" else
                                                  "the kernel default (CLIENT_RCVBUF=0)")),
        "Kea: memfile with persist true and the default lfc-interval, multi-threading off (the "
        "2.2 default). dnsmasq: --no-ping (pxed and Kea do not probe either), --quiet-dhcp.",
        "Sustained run: 1.2 x %s new clients at the highest passing rate (at most %s s), fresh "
        "store; ACKs per second over the first %s ACKs and over the %s up to the %sth (by arrival "
        "time, perfdhcp -x t), and what perfdhcp offered over the same windows: near a full core, "
        "perfdhcp's own sending slows down in a long run, so flatness is the completed share of "
        "the offered rate, last window over first." % (e["SUSTAIN_CLIENTS"], e["SUSTAIN_MAX_SECS"],
        e["WINDOW"], e["WINDOW"], e["SUSTAIN_CLIENTS"]),
    ],
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
	$REPORT table "$RESULTS" "$OUT/meta.json" >"$OUT/summary.md"
	cat "$OUT/summary.md"
	if [ "$DOCS" = 1 ]; then
		$REPORT docs "$REPO/docs/benchmarks.md" "$OUT/summary.md"
		log "table written to docs/benchmarks.md (bench:dhcp section)"
	fi
	log "done in $(($(date +%s) - T0)) s; raw results in $OUT"
}

main
