#!/bin/bash
# Real TFTP clients (tftp-hpa, atftp, curl) fetch files of 0, 511, 512, 513 bytes, 1 MiB and
# 64 MiB from pxed over loopback; every copy is compared by sha256. The 64 MiB fetches at
# blksize 512 (curl, tftp-hpa, atftp windowsize 4) run past block 65535: block-number rollover.
# Also checks the per-transfer log line for a few fetches.
. "$(dirname "$0")/lib.sh"

ROOT="$T/root"
OUT="$T/out"
mkdir -p "$ROOT/dir" "$OUT"
SIZES="0 511 512 513 1048576 67108864"
for s in $SIZES; do
	gen_file "$ROOT/dir/f$s.bin" "$s"
done

PORT=$(pick_port) || { echo "# no free port"; exit 1; }
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts and binds 127.0.0.1:$PORT"; finish; }
ok "pxed starts and binds 127.0.0.1:$PORT"

CLIENT_LOG="$T/client.log"

# fetch CLIENT NAME OUT: one fetch with a hard timeout; client output in $CLIENT_LOG.
fetch() {
	local client=$1 name=$2 out=$3
	local url="tftp://127.0.0.1:$PORT/$name"
	rm -f "$out"
	case "$client" in
	tftp-hpa) timeout 60 tftp -m binary 127.0.0.1 "$PORT" -c get "$name" "$out" ;;
	atftp-blksize1468) timeout 60 atftp --option "blksize 1468" -g -r "$name" -l "$out" 127.0.0.1 "$PORT" ;;
	atftp-windowsize4) timeout 60 atftp --option "windowsize 4" -g -r "$name" -l "$out" 127.0.0.1 "$PORT" ;;
	atftp-windowsize16) timeout 60 atftp --option "blksize 1468" --option "windowsize 16" -g -r "$name" -l "$out" 127.0.0.1 "$PORT" ;;
	atftp-tsize) timeout 60 atftp --option "tsize 0" -g -r "$name" -l "$out" 127.0.0.1 "$PORT" ;;
	curl) timeout 60 curl -sS -o "$out" "$url" ;;
	curl-nooptions) timeout 60 curl -sS --tftp-no-options -o "$out" "$url" ;;
	curl-blksize1468) timeout 60 curl -sS --tftp-blksize 1468 -o "$out" "$url" ;;
	curl-blksize65464) timeout 60 curl -sS --tftp-blksize 65464 -o "$out" "$url" ;;
	esac >"$CLIENT_LOG" 2>&1
}

CLIENTS="tftp-hpa atftp-blksize1468 atftp-windowsize4 atftp-windowsize16 atftp-tsize curl
curl-blksize1468 curl-blksize65464"
start=$(date +%s)
for c in $CLIENTS; do
	for s in $SIZES; do
		name="dir/f$s.bin"
		out="$OUT/$c.$s"
		t0=$(date +%s%N)
		desc="$c: $name ($s bytes) arrives with the right sha256"
		if [ "$s" = 0 ] && [ "${c#curl}" != "$c" ]; then
			# curl (up to at least 8.x) rejects "tsize 0" in an OACK as illegal; a 0-byte
			# file can only be fetched by curl without options.
			c0=curl-nooptions
			desc="$c0: $name ($s bytes) arrives with the right sha256"
			fetch "$c0" "$name" "$out"
		else
			fetch "$c" "$name" "$out"
		fi
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
		# tftp-hpa exits 0 even after an ERROR packet: its output tells.
		if [ "$rc" -ne 0 ] || grep -qiE 'error|timed out|refused' "$CLIENT_LOG"; then
			not_ok "$desc" "client exit $rc after ${secs}s" "$(head -n 5 "$CLIENT_LOG")"
		elif [ ! -f "$out" ]; then
			not_ok "$desc" "no output file"
		elif [ "$(sha "$out")" != "$(sha "$ROOT/$name")" ]; then
			not_ok "$desc" "got $(stat -c %s "$out") bytes, sha256 differs (${secs}s)"
		else
			ok "$desc (${secs}s)"
		fi
		rm -f "$out"
	done
done
note "all fetches took $(($(date +%s) - start)) s"

# The log has one line per finished transfer with client, file, bytes and outcome.
for s in 0 513 67108864; do
	if line=$(log_wait "127\.0\.0\.1:[0-9]+ .*\"dir/f$s\.bin\".* $s bytes.*: ok" 5); then
		ok "log: transfer line for dir/f$s.bin names client, file, $s bytes and ok"
	else
		not_ok "log: transfer line for dir/f$s.bin names client, file, $s bytes and ok" \
			"$(grep -a "f$s.bin" "$PXED_LOG" | head -n 3)"
	fi
done
n=$(grep -acE '"dir/f67108864\.bin".*: ok' "$PXED_LOG")
check_eq "log: one ok line per 64 MiB fetch (8 clients)" 8 "$n"
if line=$(log_wait '"dir/f1048576\.bin".*blksize=1468.*windowsize=16' 2); then
	ok "log: the atftp windowsize 16 fetch logs blksize=1468 windowsize=16"
else
	not_ok "log: the atftp windowsize 16 fetch logs blksize=1468 windowsize=16" \
		"$(grep -a 'f1048576.bin' "$PXED_LOG" | head -n 8)"
fi

rc=0
stop_pxed || rc=$?
check_eq "pxed exits 0 on SIGTERM" 0 "$rc"
finish
