# Shared helpers for the pxed integration tests. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#
# Gives: ok/not_ok/check (one line per check), finish (summary + exit code), skip_all (exit 77),
# a scratch dir $T, pick_port, start_pxed/start_pxed_conf/stop_pxed, netns helpers, the raw
# client wrapper `tftpc`, and `kv FILE KEY` to read its key=value output.
# Everything started is recorded and torn down by the EXIT trap, by PID / by name.

set -u

INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$INTEG_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

if [ -z "${PXED:-}" ] && [ -x "$REPO_DIR/build/pxed" ]; then
	PXED="$REPO_DIR/build/pxed"
fi
if [ -z "${PXED:-}" ]; then
	echo "# PXED is not set (PXED=/path/to/pxed bash $0)" >&2
	exit 1
fi
case "$PXED" in /*) ;; *) PXED="$(pwd)/$PXED" ;; esac
if [ ! -x "$PXED" ]; then
	echo "# PXED=$PXED is not executable" >&2
	exit 1
fi
export PXED
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree

if [ "$(id -u)" != 0 ]; then
	echo "# integration tests need root (network namespaces, nftables, ports)" >&2
fi

T=$(mktemp -d "/tmp/pxed-$TEST_NAME.$$.XXXXXX")
CHECKS=0
FAILED=0
CLEANUP_PIDS=()
CLEANUP_NETNS=()
SERVER_LOGS=()
PXED_PID=
PXED_LOG=
PXED_NETNS=
PXED_ADDR=127.0.0.1
PXED_LOG_LEVEL=${PXED_LOG_LEVEL:-info}
SERVER_SEQ=0

# --- reporting ------------------------------------------------------------------------------

ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok - $*"
}

# not_ok DESCRIPTION [DETAIL...]: a failed check; details go on '# ' lines.
not_ok() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	echo "not ok - $1"
	shift
	local d
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /' | head -n 40
	done
}

# check DESCRIPTION CMD...: runs CMD, ok when it exits 0.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "got:      $3"; fi
}

note() { echo "# $*"; }

# alive PID: the process exists.
alive() { kill -0 "$1" 2>/dev/null; }

SANITIZER_RE='ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

# sanitizer_reports: the sanitizer lines (ASan/UBSan builds) in every server log so far.
sanitizer_reports() {
	local log
	for log in "${SERVER_LOGS[@]}"; do
		[ -f "$log" ] && grep -aE -m3 "$SANITIZER_RE" "$log" | sed "s|^|$(basename "$log"): |"
	done
}

# finish: summary line and exit code (0 all passed, 1 otherwise; no checks at all is a failure).
# When a server was started, one more check: its logs have no sanitizer report.
finish() {
	local rep
	if [ "${#SERVER_LOGS[@]}" -gt 0 ]; then
		rep=$(sanitizer_reports)
		if [ -z "$rep" ]; then ok "server logs have no sanitizer reports"
		else not_ok "server logs have no sanitizer reports" "$rep"; fi
	fi
	local passed=$((CHECKS - FAILED))
	if [ "$CHECKS" -eq 0 ]; then
		echo "# $TEST_NAME: no checks ran"
		exit 1
	fi
	echo "# $TEST_NAME: $CHECKS checks, $passed passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && exit 0
	exit 1
}

# skip_all REASON: only for a kernel/system feature that is truly missing.
skip_all() {
	echo "# SKIP $TEST_NAME: $*"
	exit 77
}

# --- cleanup --------------------------------------------------------------------------------

kill_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? pid ns log
	trap - EXIT
	for pid in "${CLEANUP_PIDS[@]}"; do
		kill_pid "$pid"
		wait "$pid" 2>/dev/null
	done
	for ns in "${CLEANUP_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# Servers still running at the end were stopped just now: leak reports come at exit.
	if [ "$rc" -eq 0 ] && [ -n "$(sanitizer_reports)" ]; then
		echo "not ok - server logs have no sanitizer reports (after the final stop)"
		sanitizer_reports | sed 's/^/#   /'
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for log in "${SERVER_LOGS[@]}"; do
			[ -f "$log" ] || continue
			echo "# ---- server log $(basename "$log") (last 60 lines) ----"
			tail -n 60 "$log" | cut -c1-300 | sed 's/^/# | /'
		done
		if [ -n "${LOGDIR:-}" ] && [ -d "$LOGDIR" ]; then
			mkdir -p "$LOGDIR/$TEST_NAME"
			for log in "${SERVER_LOGS[@]}"; do
				[ -f "$log" ] && cp "$log" "$LOGDIR/$TEST_NAME/"
			done
			cp "$T"/*.pcap "$LOGDIR/$TEST_NAME/" 2>/dev/null
		fi
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept scratch dir $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# register_pid PID: killed (TERM, then KILL) on exit.
register_pid() { CLEANUP_PIDS+=("$1"); }

# --- small utilities ------------------------------------------------------------------------

# pick_port: a random UDP port in 20000-59999 that nothing is bound to on this host.
pick_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! ss -Hauln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# gen_file PATH BYTES: random content.
gen_file() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom >"$1"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# kv FILE KEY: value of the first KEY=... line of a tftpc output file.
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# tftpc ARGS...: the raw python client (see tftpc.py). In the background use
# `python3 "$INTEG_DIR/tftpc.py" ... &` instead, so that $! is python's PID (a backgrounded
# function is a subshell: killing it would leave python running).
tftpc() { python3 "$INTEG_DIR/tftpc.py" "$@"; }

# in_ns NS CMD...: run CMD in namespace NS, or directly when NS is empty.
in_ns() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

# --- the server -----------------------------------------------------------------------------

# wait_udp_bound PORT [NETNS] [PID]: poll until something listens on UDP PORT (max 10 s).
wait_udp_bound() {
	local port=$1 ns=${2:-} pid=${3:-} i
	for i in $(seq 1 100); do
		if in_ns "$ns" ss -Huln "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# _start_server PORT ARGS...: common part of start_pxed/start_pxed_conf.
_start_server() {
	local port=$1
	shift
	SERVER_SEQ=$((SERVER_SEQ + 1))
	PXED_LOG="$T/pxed.$SERVER_SEQ.log"
	SERVER_LOGS+=("$PXED_LOG")
	if [ -n "$PXED_NETNS" ]; then
		ip netns exec "$PXED_NETNS" "$PXED" "$@" >"$PXED_LOG" 2>&1 &
	else
		"$PXED" "$@" >"$PXED_LOG" 2>&1 &
	fi
	PXED_PID=$!
	register_pid "$PXED_PID"
	if ! wait_udp_bound "$port" "$PXED_NETNS" "$PXED_PID"; then
		echo "# pxed did not bind UDP port $port (pid $PXED_PID): $*" >&2
		tail -n 20 "$PXED_LOG" | sed 's/^/# | /' >&2
		return 1
	fi
	return 0
}

# start_pxed ROOT PORT [extra -o args...]: serve ROOT on $PXED_ADDR:PORT (in $PXED_NETNS when
# set). Sets PXED_PID and PXED_LOG. Extra args are passed as they are, e.g. -o tftp.write=yes.
start_pxed() {
	local root=$1 port=$2
	shift 2
	_start_server "$port" serve -o "tftp.root=$root" -o "tftp.listen=$PXED_ADDR:$port" \
		-o "server.log-level=$PXED_LOG_LEVEL" "$@"
}

# start_pxed_conf CONF PORT [extra args...]: serve from a config file; PORT is where it listens.
start_pxed_conf() {
	local conf=$1 port=$2
	shift 2
	_start_server "$port" serve -c "$conf" "$@"
}

# stop_pxed [PID]: SIGTERM, wait (max 5 s), return the server's exit status (124 on timeout).
stop_pxed() {
	local pid=${1:-$PXED_PID} i rc
	kill -TERM "$pid" 2>/dev/null || return 125
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

# log_wait REGEX [SECONDS] [LOG]: wait until the server log has a line matching the extended
# regex (transfer lines are written when a transfer ends). Prints the first match.
log_wait() {
	local re=$1 secs=${2:-5} log=${3:-$PXED_LOG} i
	for i in $(seq 1 $((secs * 10))); do
		if grep -aE -m1 -- "$re" "$log" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# log_count REGEX [LOG]: number of server log lines matching the extended regex.
log_count() { grep -acE -- "$1" "${2:-$PXED_LOG}"; }

# log_wait_count REGEX N [SECONDS] [LOG]: wait until at least N lines match; prints the count.
log_wait_count() {
	local re=$1 n=$2 secs=${3:-5} log=${4:-$PXED_LOG} i c=0
	for i in $(seq 1 $((secs * 10))); do
		c=$(log_count "$re" "$log")
		[ "$c" -ge "$n" ] && break
		sleep 0.1
	done
	echo "$c"
	[ "$c" -ge "$n" ]
}

# --- network namespaces ---------------------------------------------------------------------

# make_ns_pair SERVER_NS CLIENT_NS: two namespaces joined by a veth pair,
# server 198.18.0.1/24, client 198.18.0.2/24. No default route, nothing leaves them.
make_ns_pair() {
	local sns=$1 cns=$2
	ip netns add "$sns" || return 1
	CLEANUP_NETNS+=("$sns")
	ip netns add "$cns" || return 1
	CLEANUP_NETNS+=("$cns")
	ip -n "$sns" link set lo up &&
		ip -n "$cns" link set lo up &&
		ip -n "$sns" link add veth0 type veth peer name veth0 netns "$cns" &&
		ip -n "$sns" addr add 198.18.0.1/24 dev veth0 &&
		ip -n "$cns" addr add 198.18.0.2/24 dev veth0 &&
		ip -n "$sns" link set veth0 up &&
		ip -n "$cns" link set veth0 up || return 1
	# Wait (bounded) until the link is usable.
	local i
	for i in $(seq 1 50); do
		ip -n "$cns" link show veth0 | grep -q LOWER_UP &&
			ip -n "$sns" link show veth0 | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	return 1
}
