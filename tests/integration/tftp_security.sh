#!/bin/bash
# Confinement and access control.
# - Traversal attempts (.., absolute paths, backslashes, /etc/passwd, symlinks leaving the root,
#   control characters, NUL) from the raw client, tftp-hpa and curl --path-as-is: each gets an
#   ERROR, and the canary files outside the root are never opened (inotify watch on them, whatever
#   path the server would use) and their unique content never shows up in anything received.
# - Untrusted names are escaped in the log (no raw control bytes).
# - tftp.allow refuses clients outside the listed networks; tftp.max-per-client and
#   tftp.max-transfers refuse extra concurrent transfers while the running ones complete.
. "$(dirname "$0")/lib.sh"

BOX="$T/box"
ROOT="$BOX/srv/root"
OUT="$T/out"
mkdir -p "$ROOT/a/b" "$OUT"
CANARY="PXED-CANARY-$$-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$CANARY" >"$BOX/canary.txt"
printf '%s\n' "$CANARY" >"$BOX/srv/canary.txt"
gen_file "$ROOT/ok.bin" 3000
gen_file "$ROOT/slow.bin" 8000
ln -s "$BOX/canary.txt" "$ROOT/link-abs"
ln -s ../canary.txt "$ROOT/link-rel"
ln -s "$BOX" "$ROOT/link-dir"
ln -s ../../../canary.txt "$ROOT/a/b/link-deep"

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts"; finish; }
ok "pxed starts on 127.0.0.1:$PORT"

# inotify watch on both canaries: any open or read of them, through any path, is recorded.
python3 "$INTEG_DIR/tftpc.py" watch "$BOX/canary.txt" "$BOX/srv/canary.txt" --ready "$T/watch.ready" \
	--max-time 600 >"$T/watch.log" 2>&1 &
WATCH_PID=$!
register_pid "$WATCH_PID"
for i in $(seq 1 50); do [ -f "$T/watch.ready" ] && break; sleep 0.1; done
check "inotify watch on the canaries is ready" test -f "$T/watch.ready"

# attack_raw NAME(with \xNN escapes) LABEL: the raw client must get an ERROR.
attack_raw() {
	local name=$1 label=${2:-$1}
	rm -f "$OUT/raw.$N"
	tftpc get 127.0.0.1 "$PORT" "$name" --out "$OUT/raw.$N" --timeout 3 --retries 0 >"$T/r" 2>&1
	if [ "$(kv "$T/r" result)" = error ]; then
		ok "raw RRQ \"$label\": ERROR $(kv "$T/r" error_code) ($(kv "$T/r" error_msg))"
	else
		not_ok "raw RRQ \"$label\": ERROR" "$(grep -E '^(result|error|bytes)' "$T/r")"
	fi
	N=$((N + 1))
}
N=0
for name in "../canary.txt" "../../canary.txt" "../../../../../../../../../..$BOX/canary.txt" \
	"$BOX/canary.txt" "$BOX/srv/canary.txt" "$ROOT/../canary.txt" "a/../../canary.txt" \
	"a/./../../canary.txt" "./../canary.txt" "a//../../canary.txt" "a/b/../../../canary.txt" \
	"..\\\\canary.txt" "..\\\\..\\\\canary.txt" "a\\\\..\\\\..\\\\canary.txt" \
	"/etc/passwd" "../../../../../../../../etc/passwd" "etc/passwd" "..\\\\..\\\\etc\\\\passwd" \
	"link-abs" "link-rel" "link-dir/canary.txt" "link-dir/srv/canary.txt" "a/b/link-deep" \
	"a/../link-abs" ".." "." "/" "a" "%2e%2e/canary.txt" \
	"ok.bin\\x0a" "ok.bin\\x01" "\\x1b[31mred" "a\\x7f/../ok.bin" "ok.bin\\x0d"; do
	attack_raw "$name"
done
# A NUL inside the name splits the request: "ok.bin" with mode "/../canary.txt" (invalid).
tftpc raw 127.0.0.1 "$PORT" "0001$(printf 'ok.bin\0/../canary.txt\0octet\0' | od -An -tx1 -v | tr -d ' \n')" \
	--timeout 2 >"$T/r" 2>&1
check_eq "raw RRQ \"ok.bin<NUL>/../canary.txt\": ERROR" error "$(kv "$T/r" reply)"
# 600 x "../" then the canary: a long name must not confuse the path code.
long=$(printf '../%.0s' $(seq 1 600))canary.txt
attack_raw "$long" "600 x ../ + canary.txt"

# The same through tftp-hpa (literal mode so ':' is not special) and curl --path-as-is.
for name in "../canary.txt" "../../canary.txt" "$BOX/canary.txt" "/etc/passwd" \
	"a/../../canary.txt" '..\canary.txt' "link-abs" "link-dir/canary.txt"; do
	rm -f "$OUT/hpa.$N"
	timeout 20 tftp -m binary -l 127.0.0.1 "$PORT" -c get "$name" "$OUT/hpa.$N" >"$T/c" 2>&1
	if grep -q 'Error code' "$T/c"; then ok "tftp-hpa get \"$name\": $(head -n 1 "$T/c")"
	else not_ok "tftp-hpa get \"$name\": Error code" "$(cat "$T/c")"; fi
	N=$((N + 1))
done
for path in "../canary.txt" "../../canary.txt" "%2e%2e/canary.txt" "a/%2e%2e/%2e%2e/canary.txt" \
	"link-abs" "%2Fetc%2Fpasswd"; do
	rm -f "$OUT/curl.$N"
	timeout 20 curl -sS --path-as-is -o "$OUT/curl.$N" "tftp://127.0.0.1:$PORT/$path" >"$T/c" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then ok "curl --path-as-is \"$path\": refused (curl exit $rc)"
	else not_ok "curl --path-as-is \"$path\": refused" "curl exit 0, got $(stat -c %s "$OUT/curl.$N") bytes"; fi
	N=$((N + 1))
done

# The proofs: no canary content and no passwd content anywhere in what the clients received,
# and not a single open/read of the canary files.
if grep -rqF "$CANARY" "$OUT"; then
	not_ok "no received file contains the canary content" "$(grep -rlF "$CANARY" "$OUT")"
else
	ok "no received file contains the canary content ($(ls "$OUT" | wc -l) outputs checked)"
fi
if grep -rqE '^root:.*:0:0:' "$OUT"; then
	not_ok "no received file contains the host's /etc/passwd" "$(grep -rlE '^root:' "$OUT")"
else
	ok "no received file contains the host's /etc/passwd"
fi
sleep 0.3
if [ -s "$T/watch.log" ]; then
	not_ok "the canary files were never opened or read" "$(head -n 5 "$T/watch.log")"
else
	ok "the canary files were never opened or read (inotify)"
fi
# Control: the watch does see an open.
cat "$BOX/canary.txt" >/dev/null
for i in $(seq 1 30); do grep -q 'event=open' "$T/watch.log" && break; sleep 0.1; done
check "control: the inotify watch records an open of the canary" grep -q 'event=open' "$T/watch.log"
kill_pid "$WATCH_PID"

check "the server is alive after the traversal attempts" alive "$PXED_PID"
tftpc get 127.0.0.1 "$PORT" ok.bin >"$T/r" 2>&1
check_eq "control: a normal file is still served" "ok $(sha "$ROOT/ok.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" sha256)"

# Untrusted names are escaped in the log: no raw control bytes (ESC, SOH, CR, DEL) in it.
if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$PXED_LOG"; then
	not_ok "log: control characters from file names are escaped" \
		"$(LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$PXED_LOG" | head -n 3 | cat -v)"
elif grep -qaE '127\.0\.0\.1:[0-9]+.*\[31mred' "$PXED_LOG"; then
	ok "log: control characters from file names are escaped"
else
	not_ok "log: control characters from file names are escaped" \
		"the request for \"<ESC>[31mred\" is not in the log at all"
fi
if grep -qaE '127\.0\.0\.1:[0-9]+.*canary' "$PXED_LOG"; then
	ok "log: refused traversal requests are logged"
else
	not_ok "log: refused traversal requests are logged"
fi
stop_pxed

# --- allow-list -----------------------------------------------------------------------------
PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o "tftp.allow=198.18.0.0/15" || { not_ok "pxed starts with tftp.allow"; finish; }
tftpc get 127.0.0.1 "$PORT" ok.bin --timeout 2 --retries 0 >"$T/r" 2>&1
case "$(kv "$T/r" result)" in
error | timeout) ok "tftp.allow=198.18.0.0/15: a loopback client is refused ($(kv "$T/r" result))" ;;
*) not_ok "tftp.allow=198.18.0.0/15: a loopback client is refused" "$(cat "$T/r")" ;;
esac
if log_wait '127\.0\.0\.1:[0-9]+.*(refus|denied|not allowed|allow|reject|forbidden)' 3 >/dev/null; then
	ok "log: the refused client is logged with its address and reason"
else
	not_ok "log: the refused client is logged with its address and reason" "$(tail -n 3 "$PXED_LOG")"
fi
stop_pxed

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o "tftp.allow=127.0.0.2/32, 198.18.0.0/15" ||
	{ not_ok "pxed starts with tftp.allow (list)"; finish; }
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.2 >"$T/r" 2>&1
check_eq "tftp.allow=127.0.0.2/32,...: client 127.0.0.2 is served" "ok $(sha "$ROOT/ok.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" sha256)"
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.1 --timeout 2 --retries 0 >"$T/r" 2>&1
case "$(kv "$T/r" result)" in
error | timeout) ok "tftp.allow=127.0.0.2/32,...: client 127.0.0.1 is refused" ;;
*) not_ok "tftp.allow=127.0.0.2/32,...: client 127.0.0.1 is refused" "$(cat "$T/r")" ;;
esac
stop_pxed

# --- concurrency limits ---------------------------------------------------------------------
# slow_get SRC TAG: a transfer of slow.bin (16 blocks) ACKed every 0.25 s, in the background.
slow_get() {
	rm -f "$T/started.$2"
	python3 "$INTEG_DIR/tftpc.py" get 127.0.0.1 "$PORT" slow.bin --bind "$1" --ack-delay 0.25 \
		--started-file "$T/started.$2" --total-timeout 30 >"$T/slow.$2" 2>&1 &
	register_pid $!
	SLOW_PID=$!
	local i
	for i in $(seq 1 50); do [ -f "$T/started.$2" ] && return 0; sleep 0.1; done
	return 1
}

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.max-per-client=1 || { not_ok "pxed starts with max-per-client"; finish; }
slow_get 127.0.0.1 A
A_PID=$SLOW_PID
check "max-per-client=1: a slow transfer from 127.0.0.1 is running" test -f "$T/started.A"
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.1 --timeout 2 --retries 0 >"$T/r" 2>&1
check_eq "max-per-client=1: a second concurrent transfer from 127.0.0.1 gets an ERROR" error \
	"$(kv "$T/r" result)"
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.2 >"$T/r" 2>&1
check_eq "max-per-client=1: another client (127.0.0.2) is served meanwhile" ok "$(kv "$T/r" result)"
timeout 40 tail --pid="$A_PID" -f /dev/null
check_eq "max-per-client=1: the first transfer completes intact" "ok $(sha "$ROOT/slow.bin")" \
	"$(kv "$T/slow.A" result) $(kv "$T/slow.A" sha256)"
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.1 >"$T/r" 2>&1
check_eq "max-per-client=1: once it is done, 127.0.0.1 is served again" ok "$(kv "$T/r" result)"
stop_pxed

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.max-transfers=2 -o tftp.max-per-client=2 || { not_ok "pxed starts with max-transfers"; finish; }
slow_get 127.0.0.1 B
B_PID=$SLOW_PID
slow_get 127.0.0.2 C
C_PID=$SLOW_PID
tftpc get 127.0.0.1 "$PORT" ok.bin --bind 127.0.0.3 --timeout 2 --retries 0 >"$T/r" 2>&1
# docs/tftp.md: over tftp.max-transfers requests are dropped silently (firmware retries later).
case "$(kv "$T/r" result)" in
error | timeout) ok "max-transfers=2: a third concurrent transfer (127.0.0.3) is refused ($(kv "$T/r" result))" ;;
*) not_ok "max-transfers=2: a third concurrent transfer (127.0.0.3) is refused" "$(cat "$T/r")" ;;
esac
timeout 40 tail --pid="$B_PID" -f /dev/null
timeout 40 tail --pid="$C_PID" -f /dev/null
check_eq "max-transfers=2: both running transfers complete intact" \
	"ok ok $(sha "$ROOT/slow.bin")" \
	"$(kv "$T/slow.B" result) $(kv "$T/slow.C" result) $(kv "$T/slow.C" sha256)"
if log_wait '127\.0\.0\.3:[0-9]+' 2 >/dev/null; then
	ok "log: the transfer refused for the limit is logged"
else
	not_ok "log: the transfer refused for the limit is logged"
fi
stop_pxed

finish
