#!/bin/bash
# Configuration file, `pxed check`, SIGHUP reload and SIGTERM:
# - a new tftp.root applies to new requests after SIGHUP while a transfer in flight finishes
#   with the content it started with;
# - a broken config on SIGHUP is refused: its error is logged as file:line, the old config keeps
#   serving (nothing of the broken file is applied);
# - `pxed check -c` exits 0 on a good file, 1 on a bad one and prints every error as file:line;
# - SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"

A="$T/rootA"
B="$T/rootB"
C="$T/rootC"
mkdir -p "$A" "$B" "$C"
gen_file "$A/only-a.bin" 1000
gen_file "$B/only-b.bin" 1000
gen_file "$C/only-c.bin" 1000
# Same name, different content in A and B: shows which root a transfer was served from.
gen_file "$A/slow.bin" 30000
gen_file "$B/slow.bin" 30000

PORT=$(pick_port) || exit 1
CONF="$T/pxed.conf"
write_conf() { # ROOT [extra lines for [tftp]]
	printf '[server]\nlog-level = info\n\n[tftp]\nroot = %s\nlisten = 127.0.0.1:%s\n' "$1" "$PORT" >"$CONF.new"
	[ $# -gt 1 ] && printf '%s\n' "$2" >>"$CONF.new"
	mv "$CONF.new" "$CONF" # atomic, like an editor's save
}

# fetch NAME [args]: raw client, result in $T/r.
fetch() {
	local name=$1
	shift
	tftpc get 127.0.0.1 "$PORT" "$name" --timeout 2 --retries 1 "$@" >"$T/r" 2>&1
}
fetch_is() { fetch "$1" && [ "$(kv "$T/r" result)" = "$2" ]; }

write_conf "$A"
(cd "$T" && timeout 10 "$PXED" check -c pxed.conf) >"$T/check" 2>&1
rc=$?
check_eq "pxed check -c on a good file exits 0" 0 "$rc"

start_pxed_conf "$CONF" "$PORT" || { not_ok "pxed serve -c starts"; finish; }
ok "pxed serve -c $CONF listens on 127.0.0.1:$PORT"
fetch only-a.bin
check_eq "root A: only-a.bin is served" "ok $(sha "$A/only-a.bin")" "$(kv "$T/r" result) $(kv "$T/r" sha256)"

# A slow transfer from root A: 59 blocks, one ACK every 0.2 s (~12 s).
rm -f "$T/started"
python3 "$INTEG_DIR/tftpc.py" get 127.0.0.1 "$PORT" slow.bin --ack-delay 0.2 --started-file "$T/started" \
	--total-timeout 60 >"$T/slow" 2>&1 &
SLOW=$!
register_pid "$SLOW"
for i in $(seq 1 50); do [ -f "$T/started" ] && break; sleep 0.1; done
check "a slow transfer of slow.bin from root A is running" test -f "$T/started"

write_conf "$B"
kill -HUP "$PXED_PID"
for i in $(seq 1 50); do fetch_is only-b.bin ok && break; sleep 0.1; done
check_eq "after SIGHUP with root B: only-b.bin is served" "ok $(sha "$B/only-b.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" sha256)"
check "the slow transfer was still running during the reload" alive "$SLOW"
fetch only-a.bin
check_eq "after SIGHUP: only-a.bin (old root) is no longer found: ERROR 1" "error 1" \
	"$(kv "$T/r" result) $(kv "$T/r" error_code)"
fetch slow.bin
check_eq "after SIGHUP: a new request for slow.bin gets root B's content" \
	"ok $(sha "$B/slow.bin")" "$(kv "$T/r" result) $(kv "$T/r" sha256)"
timeout 60 tail --pid="$SLOW" -f /dev/null
check_eq "the transfer in flight across the reload completes with root A's content" \
	"ok $(sha "$A/slow.bin")" "$(kv "$T/slow" result) $(kv "$T/slow" sha256)"

# A broken file: root C plus a bad value on line 7. Refused as a whole.
write_conf "$C" "max-transfers = banana"
check_eq "(test setup) the bad value is on line 7" "max-transfers = banana" "$(sed -n 7p "$CONF")"
: >"$T/mark"
kill -HUP "$PXED_PID"
if line=$(log_wait 'pxed\.conf:7:' 5); then
	ok "broken config on SIGHUP: the log names pxed.conf:7: ($line)"
else
	not_ok "broken config on SIGHUP: the log names pxed.conf:7:" "$(tail -n 5 "$PXED_LOG")"
fi
check "broken config on SIGHUP: the daemon keeps running" alive "$PXED_PID"
fetch only-b.bin
check_eq "broken config on SIGHUP: the previous config (root B) keeps serving" \
	"ok $(sha "$B/only-b.bin")" "$(kv "$T/r" result) $(kv "$T/r" sha256)"
fetch only-c.bin
check_eq "broken config on SIGHUP: nothing of it is applied (root C not used)" "error 1" \
	"$(kv "$T/r" result) $(kv "$T/r" error_code)"

# Fixing the file and sending SIGHUP again applies it.
write_conf "$C"
kill -HUP "$PXED_PID"
for i in $(seq 1 50); do fetch_is only-c.bin ok && break; sleep 0.1; done
check_eq "fixed config on SIGHUP: root C applies" ok "$(kv "$T/r" result)"

rc=0
stop_pxed || rc=$?
check_eq "SIGTERM: pxed exits 0" 0 "$rc"

# SIGTERM with a transfer in flight: exit 0, the transfer logged as failed (server shutting down).
write_conf "$B"
start_pxed_conf "$CONF" "$PORT" || { not_ok "pxed serve -c starts again"; finish; }
rm -f "$T/started"
python3 "$INTEG_DIR/tftpc.py" get 127.0.0.1 "$PORT" slow.bin --ack-delay 0.2 --started-file "$T/started" \
	--total-timeout 30 --retries 0 >"$T/slow" 2>&1 &
SLOW=$!
register_pid "$SLOW"
for i in $(seq 1 50); do [ -f "$T/started" ] && break; sleep 0.1; done
check "a slow transfer of slow.bin (root B) is running" test -f "$T/started"
sleep 0.5
rc=0
stop_pxed || rc=$?
check_eq "SIGTERM during a transfer: pxed exits 0 (not a crash)" 0 "$rc"
lp=$(kv "$T/slow" local_port)
if log_wait "127\.0\.0\.1:${lp:-x} \"slow\.bin\".*failed" 1 >/dev/null; then
	ok "SIGTERM during a transfer: the transfer is logged as failed"
else
	not_ok "SIGTERM during a transfer: the transfer is logged as failed" "$(tail -n 3 "$PXED_LOG")"
fi

# --- pxed check -----------------------------------------------------------------------------
printf '[tftp]\nmax-transfers = banana\n' >"$T/broken.conf"
(cd "$T" && timeout 10 "$PXED" check -c broken.conf) >"$T/check" 2>&1
rc=$?
check_eq "pxed check -c broken.conf exits 1" 1 "$rc"
if grep -q '^broken\.conf:2: ' "$T/check"; then
	ok "pxed check prints \"broken.conf:2: ...\" ($(grep -m1 '^broken\.conf:2: ' "$T/check"))"
else
	not_ok "pxed check prints \"broken.conf:2: ...\"" "$(cat "$T/check")"
fi

printf '[tftp]\nmax-transfers = banana\nsingle-port = maybe\nwrite = perhaps\nlisten = 127.0.0.1:99999\n' \
	>"$T/broken2.conf"
(cd "$T" && timeout 10 "$PXED" check -c broken2.conf) >"$T/check" 2>&1
rc=$?
missing=
for l in 2 3 4 5; do grep -q "^broken2\.conf:$l: " "$T/check" || missing="$missing $l"; done
if [ "$rc" = 1 ] && [ -z "$missing" ]; then
	ok "pxed check reports every error of a file with four bad lines (2, 3, 4, 5)"
else
	not_ok "pxed check reports every error of a file with four bad lines" "exit $rc, missing lines:$missing" \
		"$(cat "$T/check")"
fi
(cd "$T" && timeout 10 "$PXED" check -c does-not-exist.conf) >"$T/check" 2>&1
rc=$?
check_eq "pxed check -c on a missing file exits 1" 1 "$rc"

finish
