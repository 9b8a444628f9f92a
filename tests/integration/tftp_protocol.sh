#!/bin/bash
# Protocol behaviour seen from the wire (raw client):
# - duplicate ACKs never make the server re-send (no Sorcerer's Apprentice), lock-step and windowed;
# - block numbers roll over from 65535 to 0;
# - a silent client gets the same block retransmitted after the negotiated timeout, with backoff,
#   a bounded number of times, then the server gives up (and logs the failure);
# - a lost block in a window is recovered; a client ERROR ends the transfer at once;
# - a packet from a wrong TID does not disturb the transfer;
# - TIDs: ephemeral port by default, the listen port in single-port mode, tftp.port-range honoured.
. "$(dirname "$0")/lib.sh"

ROOT="$T/root"
mkdir -p "$ROOT"
gen_file "$ROOT/f200k.bin" 204800
gen_file "$ROOT/f1m.bin" 1048576
gen_file "$ROOT/small.bin" 3000
gen_file "$ROOT/slow.bin" 10240
# 65536 blocks of 512 plus a bit: the block after 65535 is 0.
gen_file "$ROOT/roll.bin" $((65536 * 512 + 1000))

# For the duplicate-ACK checks the retransmission timer is held at >= 2 s, so any extra DATA
# can only be an answer to a duplicate ACK (not a timer firing because the python client was
# descheduled for more than the 50 ms default floor).
PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.retransmit-ms=2000 -o tftp.retransmit-min-ms=2000 ||
	{ not_ok "pxed starts"; finish; }
ok "pxed starts on 127.0.0.1:$PORT (retransmission timer >= 2 s)"

# rget NAME [args]: raw fetch into $T/r.
rget() {
	local name=$1
	shift
	tftpc get 127.0.0.1 "$PORT" "$name" "$@" >"$T/r" 2>&1
}
# facts KEY...: space-separated values from $T/r.
facts() {
	local k res=
	for k in "$@"; do res="$res${res:+ }$(kv "$T/r" "$k")"; done
	echo "$res"
}

# --- duplicate ACKs -------------------------------------------------------------------------
rget f200k.bin --dup-acks --linger 1.5
check_eq "lock-step, every ACK sent twice: 401 DATA packets for 401 blocks, no re-sends" \
	"ok 401 401 0 $(sha "$ROOT/f200k.bin")" "$(facts result blocks data_packets dup_data sha256)"
rget f200k.bin --dup-acks --linger 1.5 --opt windowsize=4
check_eq "windowsize 4, every ACK sent twice: DATA packets == blocks, no re-sent windows" \
	"ok 4 401 401 0 $(sha "$ROOT/f200k.bin")" \
	"$(facts result oack_windowsize blocks data_packets dup_data sha256)"
rget f1m.bin --dup-acks --linger 1.5 --opt windowsize=16 --opt blksize=1468
check_eq "windowsize 16 blksize 1468, every ACK sent twice: DATA packets == blocks" \
	"ok 16 715 715 0 $(sha "$ROOT/f1m.bin")" \
	"$(facts result oack_windowsize blocks data_packets dup_data sha256)"
# The reference: without duplicate ACKs the counts are the same.
rget f200k.bin --linger 1
check_eq "control: plain lock-step fetch, DATA packets == blocks" "ok 401 401 0" \
	"$(facts result blocks data_packets dup_data)"

stop_pxed

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts with the default timers"; finish; }
ok "pxed starts on 127.0.0.1:$PORT (default timers)"

# --- rollover -------------------------------------------------------------------------------
rget roll.bin --opt windowsize=16 --total-timeout 120
check_eq "blksize 512 windowsize 16, 65538 blocks: block numbers roll over 65535 -> 0, file intact" \
	"ok 65538 1 $(sha "$ROOT/roll.bin")" "$(facts result blocks rollovers sha256)"
rget roll.bin --total-timeout 150
check_eq "blksize 512 lock-step, 65538 blocks: rollover, file intact" \
	"ok 65538 1 $(sha "$ROOT/roll.bin")" "$(facts result blocks rollovers sha256)"

# --- retransmission with backoff, bounded ---------------------------------------------------
tftpc stall 127.0.0.1 "$PORT" slow.bin --opt timeout=1 --observe 60 --quiet 10 >"$T/stall" 2>&1
note "stall: $(tr '\n' ' ' <"$T/stall")"
n=$(kv "$T/stall" retransmits)
check_eq "silent client: OACK timeout=1" 1 "$(kv "$T/stall" oack_timeout)"
if [ "${n:-0}" -ge 2 ] && [ "${n:-0}" -le 12 ]; then
	ok "silent client: DATA 1 is retransmitted a bounded number of times ($n)"
else
	not_ok "silent client: DATA 1 is retransmitted 2..12 times" "got ${n:-none}"
fi
blocks=$(kv "$T/stall" blocks)
if [ -n "$blocks" ] && [ -z "$(echo "$blocks" | tr ',' '\n' | grep -vx 1)" ]; then
	ok "silent client: every retransmission is block 1"
else
	not_ok "silent client: every retransmission is block 1" "blocks: $blocks"
fi
python3 - "$(kv "$T/stall" intervals)" <<'EOF' >"$T/iv" 2>&1
import sys
iv = [float(x) for x in sys.argv[1].split(",") if x]
if len(iv) < 2:
    print("fewer than 2 retransmissions: %s" % iv); sys.exit(1)
if iv[0] < 0.03:
    print("first retransmission after %.3f s: not a timer" % iv[0]); sys.exit(1)
for a, b in zip(iv, iv[1:]):
    if b < a * 0.85 - 0.02:
        print("interval shrank: %s" % iv); sys.exit(1)
if max(iv) < iv[0] * 1.5:
    print("no backoff: intervals %s" % iv); sys.exit(1)
print("intervals %s" % iv)
EOF
if [ $? -eq 0 ]; then ok "silent client: retransmissions back off ($(cat "$T/iv"))"
else not_ok "silent client: retransmissions back off" "$(cat "$T/iv")"; fi
check_eq "silent client: the server stops retransmitting (quiet for 10 s)" 1 "$(kv "$T/stall" stopped)"
lp=$(kv "$T/stall" local_port)
if log_wait "127\.0\.0\.1:$lp[^0-9].*\"slow\.bin\".*(fail|timeout|timed out|gave up|give up)" 3 >/dev/null; then
	ok "log: the abandoned transfer is logged as failed"
else
	not_ok "log: the abandoned transfer is logged as failed" "$(grep -a slow.bin "$PXED_LOG" | tail -n 3)"
fi

# A lost window ACK, seen by a client like atftp 0.8: its windowed receiver ignores re-sent
# blocks it already has and re-sends its ACK only when its own timer (--tftp-timeout, default
# 5 s) runs out, and each ignored packet restarts that timer. Here the timer is 1.5 s with a
# negotiated timeout of 1 s: the client recovers only if the server, while backing off, leaves
# a gap longer than that before giving up. (In tftp_loss.sh this is what makes atftp fail.)
good=0
for i in 1 2; do
	rget f200k.bin --opt windowsize=4 --opt timeout=1 --timeout 1.5 --retries 3 --lose-acks 8 --timer-only
	[ "$(facts result sha256)" = "ok $(sha "$ROOT/f200k.bin")" ] && good=$((good + 1))
done
if [ "$good" = 2 ]; then
	ok "windowsize 4, lost ACK 8, client re-ACKs only after 1.5 s of silence (atftp 0.8): recovers (2/2)"
else
	not_ok "windowsize 4, lost ACK 8, client re-ACKs only after 1.5 s of silence (atftp 0.8): recovers" \
		"recovered $good of 2; last: $(facts result blocks elapsed)" \
		"$(grep -a 'f200k.bin' "$PXED_LOG" | tail -n 1)"
fi

# --- recovery and aborts --------------------------------------------------------------------
rget f200k.bin --opt windowsize=8 --opt timeout=1 --drop-blocks 5,100,401 --total-timeout 30
check_eq "windowsize 8: blocks 5, 100 and the last one lost once are recovered, file intact" \
	"ok 401 $(sha "$ROOT/f200k.bin")" "$(facts result blocks sha256)"
note "lost-block recovery took $(kv "$T/r" elapsed) s, $(kv "$T/r" data_packets) DATA packets"
rget f200k.bin --opt timeout=1 --drop-blocks 3 --total-timeout 30
check_eq "lock-step: block 3 lost once is retransmitted, file intact" \
	"ok $(sha "$ROOT/f200k.bin")" "$(facts result sha256)"
rget f200k.bin --error-after 10 --linger 3
check_eq "client sends ERROR after block 10: the server sends nothing more" "aborted 0" \
	"$(facts result dup_data)"
rget f200k.bin --intruder
ir=$(kv "$T/r" intruder_reply)
if [ "$(facts result sha256)" = "ok $(sha "$ROOT/f200k.bin")" ] && { [ "$ir" = error5 ] || [ "$ir" = none ]; }; then
	ok "an ACK from a wrong TID gets ERROR 5 or is dropped ($ir) and the transfer completes intact"
else
	not_ok "an ACK from a wrong TID does not disturb the transfer" "$(facts result intruder_reply)"
fi

# A client repeating its RRQ (same address and port) gets one transfer, not two.
rget f200k.bin --repeat-rrq --linger 1
check_eq "RRQ sent twice from the same port: one transfer (no packets from a second TID), intact" \
	"ok 0 0 $(sha "$ROOT/f200k.bin")" "$(facts result foreign dup_data sha256)"

# --- TIDs -----------------------------------------------------------------------------------
rget small.bin
sp=$(kv "$T/r" server_port)
if [ "$(kv "$T/r" result)" = ok ] && [ -n "$sp" ] && [ "$sp" != "$PORT" ]; then
	ok "default mode: DATA comes from a new port ($sp), not the listen port"
else
	not_ok "default mode: DATA comes from a new port" "listen $PORT, server_port ${sp:-none}"
fi
rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.single-port=yes || { not_ok "pxed starts in single-port mode"; finish; }
rm -f "$T/started"
python3 "$INTEG_DIR/tftpc.py" get 127.0.0.1 "$PORT" slow.bin --ack-delay 0.2 --started-file "$T/started" >"$T/slow" 2>&1 &
SLOW=$!
register_pid "$SLOW"
for i in $(seq 1 50); do [ -f "$T/started" ] && break; sleep 0.1; done
rget f200k.bin --opt windowsize=4
check_eq "single-port: DATA comes from the listen port $PORT, file intact" \
	"ok $PORT $(sha "$ROOT/f200k.bin")" "$(facts result server_port sha256)"
rget f1m.bin --opt blksize=1468
check_eq "single-port: a second transfer concurrent with a slow one, from port $PORT, intact" \
	"ok $PORT $(sha "$ROOT/f1m.bin")" "$(facts result server_port sha256)"
rget f200k.bin --intruder
ir=$(kv "$T/r" intruder_reply)
if [ "$(facts result sha256)" = "ok $(sha "$ROOT/f200k.bin")" ] && { [ "$ir" = error5 ] || [ "$ir" = none ]; }; then
	ok "single-port: an ACK from an unknown client port does not disturb the transfer ($ir)"
else
	not_ok "single-port: an ACK from an unknown client port does not disturb the transfer" \
		"$(facts result intruder_reply)"
fi
timeout 30 tail --pid="$SLOW" -f /dev/null
check_eq "single-port: the slow concurrent transfer completes intact from port $PORT" \
	"ok $PORT $(sha "$ROOT/slow.bin")" "$(kv "$T/slow" result) $(kv "$T/slow" server_port) $(kv "$T/slow" sha256)"
timeout 30 curl -sS -o "$T/c.out" "tftp://127.0.0.1:$PORT/f1m.bin" >"$T/c" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(sha "$T/c.out")" = "$(sha "$ROOT/f1m.bin")" ]; then
	ok "single-port: curl fetches f1m.bin intact"
else
	not_ok "single-port: curl fetches f1m.bin intact" "exit $rc" "$(cat "$T/c")"
fi
stop_pxed

PORT=$(pick_port) || exit 1
LO=$(( (PORT + 1000) % 40000 + 20000 ))
HI=$((LO + 19))
start_pxed "$ROOT" "$PORT" -o "tftp.port-range=$LO-$HI" || { not_ok "pxed starts with a port range"; finish; }
bad=
for i in 1 2 3 4 5; do
	rget small.bin
	sp=$(kv "$T/r" server_port)
	if [ "$(kv "$T/r" result)" != ok ] || [ -z "$sp" ] || [ "$sp" -lt "$LO" ] || [ "$sp" -gt "$HI" ]; then
		bad="$bad fetch $i: result $(kv "$T/r" result) port ${sp:-none};"
	fi
done
if [ -z "$bad" ]; then ok "port-range $LO-$HI: five transfers all come from ports in the range"
else not_ok "port-range $LO-$HI: transfers come from ports in the range" "$bad"; fi
for tag in x y z; do
	python3 "$INTEG_DIR/tftpc.py" get 127.0.0.1 "$PORT" slow.bin --ack-delay 0.1 >"$T/par.$tag" 2>&1 &
	register_pid $!
	PAR_PIDS="${PAR_PIDS:-} $!"
done
for p in $PAR_PIDS; do timeout 30 tail --pid="$p" -f /dev/null; done
bad=
ports=
for tag in x y z; do
	sp=$(kv "$T/par.$tag" server_port)
	ports="$ports $sp"
	if [ "$(kv "$T/par.$tag" result)" != ok ] || [ -z "$sp" ] || [ "$sp" -lt "$LO" ] || [ "$sp" -gt "$HI" ]; then
		bad="$bad $tag: $(kv "$T/par.$tag" result) port ${sp:-none};"
	fi
done
if [ -z "$bad" ] && [ "$(echo $ports | tr ' ' '\n' | sort -u | wc -l)" = 3 ]; then
	ok "port-range: three concurrent transfers use three distinct ports in the range ($ports)"
else
	not_ok "port-range: three concurrent transfers use three distinct ports in the range" "$bad ports:$ports"
fi
stop_pxed

finish
