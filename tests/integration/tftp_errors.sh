#!/bin/bash
# Error paths and option negotiation, with real clients and the raw client:
# missing file -> ERROR 1; WRQ with tftp.write off -> ERROR 2; with tftp.write=yes a put works;
# unknown opcodes and malformed requests get an ERROR or are dropped and the server keeps
# serving; blksize/windowsize/tsize/timeout negotiated in the OACK; tftp.blksize-max clamps.
. "$(dirname "$0")/lib.sh"

ROOT="$T/root"
OUT="$T/out"
mkdir -p "$ROOT/adir" "$OUT"
gen_file "$ROOT/small.bin" 100
gen_file "$ROOT/f1m.bin" 1048576
: >"$ROOT/empty.bin"

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts"; finish; }
ok "pxed starts on 127.0.0.1:$PORT"
LOG1=$PXED_LOG

# rget NAME [tftpc get args...]: raw client fetch, result in $T/r.
rget() {
	local name=$1
	shift
	tftpc get 127.0.0.1 "$PORT" "$name" --out "$OUT/raw" "$@" >"$T/r" 2>&1
}

# serving: the server still answers a plain fetch correctly.
serving() {
	rget small.bin && [ "$(kv "$T/r" result)" = ok ] &&
		[ "$(kv "$T/r" sha256)" = "$(sha "$ROOT/small.bin")" ]
}

# --- missing file ---------------------------------------------------------------------------
rget no-such-file.bin
check_eq "raw RRQ for a missing file: ERROR code 1" "error 1" \
	"$(kv "$T/r" result) $(kv "$T/r" error_code)"
if [ -n "$(kv "$T/r" error_msg)" ]; then ok "ERROR 1 carries a message: $(kv "$T/r" error_msg)"
else not_ok "ERROR 1 carries a message"; fi

timeout 20 tftp -m binary 127.0.0.1 "$PORT" -c get no-such-file.bin "$OUT/x" >"$T/c" 2>&1
if grep -q 'Error code 1' "$T/c"; then ok "tftp-hpa get of a missing file: Error code 1"
else not_ok "tftp-hpa get of a missing file: Error code 1" "$(cat "$T/c")"; fi

timeout 20 curl -sS -o "$OUT/x" "tftp://127.0.0.1:$PORT/no-such-file.bin" >"$T/c" 2>&1
rc=$?
check_eq "curl get of a missing file: exit 68 (TFTP file not found)" 68 "$rc"

timeout 20 atftp -g -r no-such-file.bin -l "$OUT/x" 127.0.0.1 "$PORT" >"$T/c" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then ok "atftp get of a missing file fails (exit $rc)"
else not_ok "atftp get of a missing file fails" "$(cat "$T/c")"; fi

if log_wait 'no-such-file\.bin' 3 >/dev/null; then
	ok "log: the refused request for the missing file is logged"
else
	not_ok "log: the refused request for the missing file is logged"
fi

rget adir
if [ "$(kv "$T/r" result)" = error ]; then ok "RRQ for a directory: ERROR $(kv "$T/r" error_code)"
else not_ok "RRQ for a directory: ERROR" "$(cat "$T/r")"; fi

# --- writes refused by default --------------------------------------------------------------
tftpc wrq 127.0.0.1 "$PORT" upload.bin >"$T/r" 2>&1
check_eq "raw WRQ with tftp.write off: ERROR code 2" "error 2" \
	"$(kv "$T/r" reply) $(kv "$T/r" error_code)"
gen_file "$T/up.bin" 70000
timeout 20 tftp -m binary 127.0.0.1 "$PORT" -c put "$T/up.bin" upload.bin >"$T/c" 2>&1
if grep -q 'Error code 2' "$T/c"; then ok "tftp-hpa put with tftp.write off: Error code 2"
else not_ok "tftp-hpa put with tftp.write off: Error code 2" "$(cat "$T/c")"; fi
if [ ! -e "$ROOT/upload.bin" ]; then ok "no file was created by the refused writes"
else not_ok "no file was created by the refused writes"; fi

# --- unknown opcodes and malformed requests -------------------------------------------------
# raw_probe DESC HEX: the reply must be an ERROR or nothing, never DATA/OACK/ACK.
raw_probe() {
	tftpc raw 127.0.0.1 "$PORT" "$2" --timeout 1 >"$T/r" 2>&1
	case "$(kv "$T/r" reply)" in
	none) ok "$1: dropped" ;;
	error) ok "$1: ERROR $(kv "$T/r" error_code) ($(kv "$T/r" error_msg))" ;;
	*) not_ok "$1: ERROR or dropped" "$(cat "$T/r")" ;;
	esac
}
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
raw_probe "unknown opcode 9" "0009$(hex small.bin)00$(hex octet)00"
raw_probe "unknown opcode 0xffff" "ffff0000"
raw_probe "1-byte packet" "01"
raw_probe "RRQ without any NUL" "0001$(hex small.bin)"
raw_probe "RRQ without a mode" "0001$(hex small.bin)00"
raw_probe "RRQ with an empty file name" "000100$(hex octet)00"
raw_probe "DATA sent to the listen port" "00030001$(hex hello)"
raw_probe "ACK sent to the listen port" "00040001"
raw_probe "OACK sent to the listen port" "0006$(hex blksize)00$(hex 512)00"
raw_probe "ERROR sent to the listen port" "00050000$(hex bye)00"
raw_probe "RRQ of 1400 bytes of 'A' without NUL" "0001$(head -c 1400 /dev/zero | tr '\0' A | od -An -tx1 -v | tr -d ' \n')"

# A dangling option name: ERROR, dropped, or the option ignored (DATA 1, no OACK).
tftpc raw 127.0.0.1 "$PORT" "0001$(hex small.bin)00$(hex octet)00$(hex blksize)00" --timeout 1 >"$T/r" 2>&1
case "$(kv "$T/r" reply):$(kv "$T/r" block)" in
none:* | error:* | data:1) ok "RRQ with an option name but no value: $(kv "$T/r" reply) (not an OACK)" ;;
*) not_ok "RRQ with an option name but no value: ERROR, dropped or plain DATA 1" "$(cat "$T/r")" ;;
esac
tftpc raw 127.0.0.1 "$PORT" "0001$(hex small.bin)00$(hex mail)00" --timeout 2 >"$T/r" 2>&1
check_eq "RRQ with mode \"mail\": ERROR" error "$(kv "$T/r" reply)"
tftpc raw 127.0.0.1 "$PORT" "0001$(hex small.bin)00$(hex binary)00" --timeout 2 >"$T/r" 2>&1
check_eq "RRQ with an unknown mode \"binary\": ERROR" error "$(kv "$T/r" reply)"

# 300 random datagrams (bounded), some starting like an RRQ.
python3 - "$PORT" <<'EOF'
import os, random, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rnd = random.Random(2347)
for i in range(300):
    n = rnd.randrange(0, 600)
    body = os.urandom(n)
    if i % 3 == 0:
        body = b"\x00\x01" + body
    s.sendto(body, ("127.0.0.1", int(sys.argv[1])))
EOF
sleep 0.5
check "the server process is alive after malformed and random packets" alive "$PXED_PID"
check "the server still serves small.bin correctly after malformed packets" serving

# --- option negotiation ---------------------------------------------------------------------
rget f1m.bin --opt blksize=65464
check_eq "blksize 65464 on loopback: OACK blksize=65464, DATA of 65464 bytes, file intact" \
	"ok 65464 65464 $(sha "$ROOT/f1m.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_blksize) $(kv "$T/r" first_len) $(kv "$T/r" sha256)"
rget small.bin --opt blksize=8
check_eq "blksize 8 (the minimum): OACK blksize=8, DATA of 8 bytes, file intact" \
	"ok 8 8 $(sha "$ROOT/small.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_blksize) $(kv "$T/r" first_len) $(kv "$T/r" sha256)"
rget small.bin --opt blksize=7
b=$(kv "$T/r" oack_blksize)
if [ "$(kv "$T/r" result)" = error ] || { [ "$(kv "$T/r" result)" = ok ] && [ "${b:-512}" -ge 8 ]; }; then
	ok "blksize 7 (below the minimum) is refused or ignored (result $(kv "$T/r" result), oack blksize '${b}')"
else
	not_ok "blksize 7 (below the minimum) is refused or ignored" "$(cat "$T/r")"
fi
rget f1m.bin --opt blksize=65500
b=$(kv "$T/r" oack_blksize)
if [ "$(kv "$T/r" result)" = ok ] && [ "${b:-512}" -le 65464 ] && [ "$(kv "$T/r" max_len)" -le 65464 ]; then
	ok "blksize 65500 is clamped to at most 65464 (OACK '${b}')"
else
	not_ok "blksize 65500 is clamped to at most 65464" "$(cat "$T/r")"
fi
rget small.bin --opt BlkSize=1024 --opt TSIZE=0
check_eq "option names are case-insensitive (BlkSize, TSIZE)" "ok 1024 100" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_blksize) $(kv "$T/r" oack_tsize)"

rget f1m.bin --opt windowsize=4
check_eq "windowsize 4: OACK windowsize=4 and the file arrives intact" \
	"ok 4 $(sha "$ROOT/f1m.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_windowsize) $(kv "$T/r" sha256)"
rget f1m.bin --opt windowsize=64 --opt blksize=1468
check_eq "windowsize 64 + blksize 1468: negotiated and intact" \
	"ok 64 1468 $(sha "$ROOT/f1m.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_windowsize) $(kv "$T/r" oack_blksize) $(kv "$T/r" sha256)"
rget small.bin --opt windowsize=0
w=$(kv "$T/r" oack_windowsize)
if [ "$(kv "$T/r" result)" = error ] || { [ "$(kv "$T/r" result)" = ok ] && [ "${w:-1}" -ge 1 ]; }; then
	ok "windowsize 0 is refused or ignored"
else
	not_ok "windowsize 0 is refused or ignored" "$(cat "$T/r")"
fi

rget f1m.bin --opt tsize=0
check_eq "tsize 0: OACK tsize=1048576 (the file size)" "ok 1048576" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_tsize)"
rget empty.bin --opt tsize=0
check_eq "tsize 0 on an empty file: OACK tsize=0, one empty DATA block" "ok 0 1 0" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_tsize) $(kv "$T/r" blocks) $(kv "$T/r" bytes)"
rget small.bin --opt timeout=1
check_eq "timeout 1: OACK timeout=1" "ok 1" "$(kv "$T/r" result) $(kv "$T/r" oack_timeout)"
rget small.bin --opt timeout=0
t=$(kv "$T/r" oack_timeout)
if [ "$(kv "$T/r" result)" = error ] || { [ "$(kv "$T/r" result)" = ok ] && [ -z "$t" ]; }; then
	ok "timeout 0 (out of 1..255) is refused or left out of the OACK"
else
	not_ok "timeout 0 (out of 1..255) is refused or left out of the OACK" "$(cat "$T/r")"
fi
rget small.bin --opt x-unknown=1
if [ "$(kv "$T/r" result)" = ok ] && ! grep -q '^oack_x-unknown=' "$T/r"; then
	ok "an unknown option is ignored (not in the OACK) and the file is sent"
else
	not_ok "an unknown option is ignored" "$(cat "$T/r")"
fi
rget f1m.bin --opt blksize=1468 --opt tsize=0 --opt windowsize=4 --opt timeout=2
check_eq "all four options at once are acknowledged" "ok 1468 1048576 4 2" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_blksize) $(kv "$T/r" oack_tsize) $(kv "$T/r" oack_windowsize) $(kv "$T/r" oack_timeout)"
lp=$(kv "$T/r" local_port)
if line=$(log_wait "127\.0\.0\.1:$lp \"f1m\.bin\".*: ok" 3); then
	miss=
	for w in "sent 1048576 bytes" blksize=1468 windowsize=4 tsize=1048576; do
		case "$line" in *"$w"*) ;; *) miss="$miss $w" ;; esac
	done
	if [ -z "$miss" ]; then ok "log: the transfer line has the bytes and the negotiated options"
	else not_ok "log: the transfer line has the bytes and the negotiated options" "missing:$miss" "$line"; fi
else
	not_ok "log: a transfer line for 127.0.0.1:$lp \"f1m.bin\" ending in ok" \
		"$(grep -a 'f1m.bin' "$PXED_LOG" | tail -n 3)"
fi

rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"

# --- tftp.blksize-max ------------------------------------------------------------------------
PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.blksize-max=1468 || { not_ok "pxed starts with blksize-max"; finish; }
rget f1m.bin --opt blksize=65464
check_eq "tftp.blksize-max=1468 clamps a 65464 request: OACK 1468, DATA <= 1468, intact" \
	"ok 1468 1468 $(sha "$ROOT/f1m.bin")" \
	"$(kv "$T/r" result) $(kv "$T/r" oack_blksize) $(kv "$T/r" max_len) $(kv "$T/r" sha256)"
timeout 30 curl -sS --tftp-blksize 65464 -o "$OUT/c" "tftp://127.0.0.1:$PORT/f1m.bin" >"$T/c" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(sha "$OUT/c")" = "$(sha "$ROOT/f1m.bin")" ]; then
	ok "curl --tftp-blksize 65464 against blksize-max=1468: file intact"
else
	not_ok "curl --tftp-blksize 65464 against blksize-max=1468: file intact" "exit $rc" "$(cat "$T/c")"
fi
stop_pxed

# --- writes allowed -------------------------------------------------------------------------
# tftp.write=yes replaces existing files; creating new ones needs tftp.write-create=yes too.
PORT=$(pick_port) || exit 1
echo "old content" >"$ROOT/upload.bin"
echo "old content" >"$ROOT/upload2.bin"
start_pxed "$ROOT" "$PORT" -o tftp.write=yes || { not_ok "pxed starts with tftp.write=yes"; finish; }
timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c put "$T/up.bin" upload.bin >"$T/c" 2>&1
if grep -qiE 'error|timed out' "$T/c"; then
	not_ok "tftp.write=yes: tftp-hpa put of 70000 bytes over an existing file succeeds" "$(cat "$T/c")"
elif [ "$(sha "$ROOT/upload.bin")" = "$(sha "$T/up.bin")" ]; then
	ok "tftp.write=yes: when tftp-hpa put (70000 bytes) returns, the file has the new content"
else
	not_ok "tftp.write=yes: when tftp-hpa put (70000 bytes) returns, the file has the new content" \
		"$(ls -la "$ROOT/upload.bin" 2>&1)"
fi
gen_file "$T/up2.bin" 300000
timeout 30 atftp --option "blksize 1468" -p -l "$T/up2.bin" -r upload2.bin 127.0.0.1 "$PORT" >"$T/c" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(sha "$ROOT/upload2.bin")" = "$(sha "$T/up2.bin")" ]; then
	ok "tftp.write=yes: when atftp put (blksize 1468) returns, the file has the new content"
else
	not_ok "tftp.write=yes: when atftp put (blksize 1468) returns, the file has the new content" "exit $rc" "$(cat "$T/c")"
fi
if line=$(log_wait '127\.0\.0\.1:[0-9]+ "upload\.bin": received 70000 bytes.*: ok' 8); then
	ok "log: the upload is logged as received 70000 bytes, ok"
else
	not_ok "log: the upload is logged as received 70000 bytes, ok" "$(grep -a upload.bin "$PXED_LOG")"
fi
timeout 20 tftp -m binary 127.0.0.1 "$PORT" -c get upload.bin "$OUT/back" >"$T/c" 2>&1
check_eq "tftp.write=yes: the uploaded file reads back intact" "$(sha "$T/up.bin")" "$(sha "$OUT/back")"
tftpc wrq 127.0.0.1 "$PORT" brand-new.bin >"$T/r" 2>&1
check_eq "tftp.write=yes without write-create: a WRQ for a new file gets ERROR 2" "error 2" \
	"$(kv "$T/r" reply) $(kv "$T/r" error_code)"
if ls -A "$ROOT" | grep -q '^\.pxed-upload'; then
	not_ok "no temporary upload files are left behind" "$(ls -A "$ROOT")"
else
	ok "no temporary upload files are left behind"
fi
mkdir -p "$T/outside"
tftpc wrq 127.0.0.1 "$PORT" "../outside/evil.bin" >"$T/r" 2>&1
check_eq "tftp.write=yes: WRQ for ../outside/evil.bin gets an ERROR" error "$(kv "$T/r" reply)"
if [ -z "$(ls -A "$T/outside")" ] && [ ! -e "$T/evil.bin" ]; then
	ok "tftp.write=yes: nothing was written outside the root"
else
	not_ok "tftp.write=yes: nothing was written outside the root" "$(ls -la "$T/outside")"
fi
stop_pxed

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.write=yes -o tftp.write-create=yes ||
	{ not_ok "pxed starts with tftp.write-create=yes"; finish; }
timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c put "$T/up2.bin" created.bin >"$T/c" 2>&1
if ! grep -qiE 'error|timed out' "$T/c" && [ -f "$ROOT/created.bin" ] &&
	[ "$(sha "$ROOT/created.bin")" = "$(sha "$T/up2.bin")" ]; then
	ok "tftp.write-create=yes: when tftp-hpa put returns, the new file is there with the right content"
else
	not_ok "tftp.write-create=yes: when tftp-hpa put returns, the new file is there with the right content" "$(cat "$T/c")"
fi
tftpc wrq 127.0.0.1 "$PORT" "../outside/evil2.bin" >"$T/r" 2>&1
check_eq "tftp.write-create=yes: WRQ for ../outside/evil2.bin gets an ERROR" error "$(kv "$T/r" reply)"
if [ -z "$(ls -A "$T/outside")" ]; then ok "tftp.write-create=yes: nothing was created outside the root"
else not_ok "tftp.write-create=yes: nothing was created outside the root" "$(ls -la "$T/outside")"; fi
stop_pxed

finish
