#!/bin/bash
# netascii (RFC 1350 + RFC 764): LF goes on the wire as CR LF, a bare CR as CR NUL.
# Real clients (tftp-hpa `-m ascii`, atftp `mode netascii`) convert back and must end up with the
# original LF file; the raw client checks the exact bytes on the wire, including conversions that
# straddle a block boundary and an encoding that ends exactly on a block boundary.
. "$(dirname "$0")/lib.sh"

ROOT="$T/root"
OUT="$T/out"
mkdir -p "$ROOT" "$OUT"

# text.txt: ~100 KiB of LF-terminated lines, with a few bare CRs and one CR LF line.
python3 - "$ROOT" <<'EOF'
import random, sys
root = sys.argv[1]
rnd = random.Random(1350)
lines = []
for i in range(2500):
    words = " ".join("w%x" % rnd.randrange(1 << 20) for _ in range(rnd.randrange(0, 9)))
    lines.append("line %d: %s" % (i, words))
text = "\n".join(lines) + "\n"
text = text.replace("line 7:", "line\r7:").replace("line 900:", "line 900:\r\n")
open(root + "/text.txt", "wb").write(text.encode())
# 511 bytes then LF: the CR of the CR LF is the last byte of block 1, the LF the first of block 2.
open(root + "/split.txt", "wb").write(b"a" * 511 + b"\n" + b"tail\n")
# 256 LFs encode to exactly 512 bytes: a full block 1, then an empty block 2.
open(root + "/exact.txt", "wb").write(b"\n" * 256)
# A bare CR as the last byte of a block after encoding: 511 bytes then CR.
open(root + "/crsplit.txt", "wb").write(b"b" * 511 + b"\r" + b"x\n")
EOF

# encode_netascii IN OUT: the bytes that must appear on the wire.
encode_netascii() {
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n"))' "$1" "$2"
}

PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts"; finish; }
ok "pxed starts on 127.0.0.1:$PORT"

# Real clients: the file arrives as it is on the server (LF line ends).
for name in text.txt split.txt crsplit.txt exact.txt; do
	rm -f "$OUT/hpa.$name"
	timeout 30 tftp -m ascii 127.0.0.1 "$PORT" -c get "$name" "$OUT/hpa.$name" >"$T/c.log" 2>&1
	if grep -qiE 'error|timed out' "$T/c.log"; then
		not_ok "tftp-hpa -m ascii: $name arrives unchanged" "$(head -n 3 "$T/c.log")"
	elif cmp -s "$OUT/hpa.$name" "$ROOT/$name"; then
		ok "tftp-hpa -m ascii: $name arrives unchanged"
	else
		not_ok "tftp-hpa -m ascii: $name arrives unchanged" \
			"$(cmp "$OUT/hpa.$name" "$ROOT/$name" 2>&1)"
	fi
done

rm -f "$OUT/atftp.text.txt"
printf 'mode netascii\nget text.txt %s\nquit\n' "$OUT/atftp.text.txt" |
	timeout 30 atftp 127.0.0.1 "$PORT" >"$T/c.log" 2>&1
if cmp -s "$OUT/atftp.text.txt" "$ROOT/text.txt"; then
	ok "atftp mode netascii: text.txt arrives unchanged"
else
	not_ok "atftp mode netascii: text.txt arrives unchanged" "$(head -n 3 "$T/c.log")" \
		"$(cmp "$OUT/atftp.text.txt" "$ROOT/text.txt" 2>&1)"
fi

# On the wire: exact netascii bytes, in blocks of at most blksize.
wire_check() {
	local name=$1 label=$2
	shift 2
	encode_netascii "$ROOT/$name" "$T/expect.$name"
	tftpc get 127.0.0.1 "$PORT" "$name" --mode netascii --out "$OUT/wire.$name" "$@" >"$T/r" 2>&1
	if [ "$(kv "$T/r" result)" != ok ]; then
		not_ok "wire ($label): $name is sent as netascii" "$(cat "$T/r")"
	elif cmp -s "$OUT/wire.$name" "$T/expect.$name"; then
		ok "wire ($label): $name is sent as netascii (LF -> CR LF, CR -> CR NUL), $(kv "$T/r" bytes) bytes"
	else
		not_ok "wire ($label): $name is sent as netascii" \
			"got $(kv "$T/r" bytes) bytes, expected $(stat -c %s "$T/expect.$name")" \
			"$(cmp "$OUT/wire.$name" "$T/expect.$name" 2>&1)"
	fi
}
wire_check text.txt "blksize 512"
wire_check text.txt "blksize 1468" --opt blksize=1468
wire_check split.txt "blksize 512"
wire_check crsplit.txt "blksize 512"
wire_check exact.txt "blksize 512"
# exact.txt encodes to 512 bytes: block 1 full, then an empty block 2 ends the transfer.
check_eq "wire: exact.txt (512 encoded bytes) ends with an empty block 2" "2 512" \
	"$(kv "$T/r" blocks) $(kv "$T/r" bytes)"

# Mode names are case-insensitive (RFC 1350): "NetASCII" is netascii.
tftpc get 127.0.0.1 "$PORT" split.txt --mode NetASCII --out "$OUT/wire.mixed" >"$T/r" 2>&1
encode_netascii "$ROOT/split.txt" "$T/expect.mixed"
if [ "$(kv "$T/r" result)" = ok ] && cmp -s "$OUT/wire.mixed" "$T/expect.mixed"; then
	ok "mode \"NetASCII\" (mixed case) is netascii"
else
	not_ok "mode \"NetASCII\" (mixed case) is netascii" "$(cat "$T/r")"
fi

# The same file in octet mode is sent as it is (no conversion leaks into octet).
tftpc get 127.0.0.1 "$PORT" text.txt --mode octet --out "$OUT/octet.text" >"$T/r" 2>&1
if [ "$(kv "$T/r" result)" = ok ] && cmp -s "$OUT/octet.text" "$ROOT/text.txt"; then
	ok "octet mode sends text.txt byte for byte"
else
	not_ok "octet mode sends text.txt byte for byte" "$(cat "$T/r")"
fi

stop_pxed
# tftp.netascii-max-bytes: larger files are refused in netascii mode (docs/tftp.md), not in octet.
PORT=$(pick_port) || exit 1
start_pxed "$ROOT" "$PORT" -o tftp.netascii-max-bytes=1000 || { not_ok "pxed starts with netascii-max-bytes"; finish; }
tftpc get 127.0.0.1 "$PORT" text.txt --mode netascii >"$T/r" 2>&1
check_eq "netascii-max-bytes=1000: text.txt in netascii mode gets ERROR 2" "error 2" \
	"$(kv "$T/r" result) $(kv "$T/r" error_code)"
tftpc get 127.0.0.1 "$PORT" text.txt --mode octet >"$T/r" 2>&1
check_eq "netascii-max-bytes=1000: text.txt in octet mode is still served" \
	"ok $(sha "$ROOT/text.txt")" "$(kv "$T/r" result) $(kv "$T/r" sha256)"
tftpc get 127.0.0.1 "$PORT" split.txt --mode netascii --out "$OUT/wire.small" >"$T/r" 2>&1
check_eq "netascii-max-bytes=1000: split.txt (517 bytes) in netascii mode is served" ok "$(kv "$T/r" result)"
LOG_FIRST=${SERVER_LOGS[0]}
if log_wait '127\.0\.0\.1:[0-9]+ .*"text\.txt".*: ok' 3 "$LOG_FIRST" >/dev/null; then
	ok "log: the netascii transfers are logged as ok"
else
	not_ok "log: the netascii transfers are logged as ok" \
		"$(grep -a 'text.txt' "$LOG_FIRST" | head -n 3)"
fi
stop_pxed

finish
