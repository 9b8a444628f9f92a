#!/usr/bin/env bash
# A small TFTP-only demo: build pxed, serve examples/demo-root over TFTP on 127.0.0.1:6969 with the
# shipped example config, fetch files from it with real clients to show it working, then keep
# serving until Ctrl-C (or exit right away with --once).
set -eu
cd "$(dirname "$0")/.."
once=0
[ "${1:-}" = "--once" ] && once=1
bash tools/deps.sh demo
bash tools/build.sh gcc
root=$(pwd)/examples/demo-root
dd if=/dev/urandom of="$root/random-4m.bin" bs=1M count=4 status=none
log=$(mktemp /tmp/pxed-demo.XXXXXX.log)
build/pxed check -c examples/demo.conf -o tftp.root="$root"
build/pxed serve -c examples/demo.conf -o tftp.root="$root" 2>"$log" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$root/random-4m.bin"
}
trap cleanup EXIT
for _ in $(seq 50); do
	ss -ulnH 'sport = :6969' | grep -q . && break
	sleep 0.1
done
out=$(mktemp -d)
echo "--- tftp-hpa client: hello.txt"
tftp 127.0.0.1 6969 -m binary -c get hello.txt "$out/hello.txt" && cat "$out/hello.txt"
echo "--- curl, blksize 1468: random-4m.bin"
curl -s --tftp-blksize 1468 -o "$out/r.bin" tftp://127.0.0.1:6969/random-4m.bin
cmp "$out/r.bin" "$root/random-4m.bin" && echo "random-4m.bin: content identical ($(stat -c %s "$out/r.bin") bytes)"
echo "--- a traversal attempt: ../../etc/passwd"
tftp 127.0.0.1 6969 -m binary -c get ../../etc/passwd "$out/x" 2>&1 | head -1 || true
rm -rf "$out"
echo "--- pxed log"
cat "$log"
if [ $once = 0 ]; then
	echo "--- pxed is serving $root on 127.0.0.1:6969; Ctrl-C stops it."
	tail -n 0 -f "$log" &
	tailpid=$!
	trap 'kill $tailpid 2>/dev/null; cleanup' EXIT
	wait "$pid"
fi
