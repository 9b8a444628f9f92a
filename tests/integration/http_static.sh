#!/bin/bash
# HTTP static files (src/http): GET/HEAD of 0 B, 1 B, 1 MiB and 64 MiB files (sha256), content
# types, Range (first/last/middle, suffix, open-ended, several, malformed, unsatisfiable -> 416),
# keep-alive (two URLs, one connection), validators and conditional requests (ETag,
# Last-Modified, If-None-Match, If-Modified-Since, If-Range -> 304/200/206), a sparse 5 GiB file
# read at 5 GiB - 100, traversal attempts with curl --path-as-is (4xx; canaries outside the root
# are never opened: inotify), POST/PUT/DELETE -> 405 with Allow, directories -> 404, one escaped
# log line per request, aborted transfers logged, http.max-connections (refusal, and the count
# comes back down after every kind of close), http.timeout, SIGHUP reload of http.root.
# Loopback only; servers are started and stopped by PID.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed"

BOX="$T/box"
ROOT="$BOX/srv/root"
ROOT2="$T/root2"
OUT="$T/out"
STATE="$T/state"
mkdir -p "$ROOT/dir/sub" "$ROOT2" "$OUT" "$STATE"
CANARY="PXED-CANARY-$$-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$CANARY" >"$BOX/canary.txt"
printf '%s\n' "$CANARY" >"$BOX/srv/canary.txt"
: >"$ROOT/empty.bin"
gen_file "$ROOT/one.bin" 1
gen_file "$ROOT/1m.bin" 1048576
gen_file "$ROOT/64m.bin" 67108864
printf '#!ipxe\necho hello\n' >"$ROOT/boot.ipxe"
gen_file "$ROOT/image.iso" 4096
gen_file "$ROOT/dir/sub/deep.bin" 777
printf 'only in root2\n' >"$ROOT2/new.txt"
ln -s "$BOX/canary.txt" "$ROOT/link-abs"
ln -s ../canary.txt "$ROOT/link-rel"
ln -s ../../../canary.txt "$ROOT/dir/sub/link-deep"
ln -s 1m.bin "$ROOT/link-in"
BIG="$ROOT/big5g.img"
BIG_SIZE=5368709120
MARK_OFF=$((BIG_SIZE - 100))
if truncate -s "$BIG_SIZE" "$BIG" 2>/dev/null; then
	head -c 100 /dev/urandom >"$T/mark"
	dd if="$T/mark" of="$BIG" bs=1 seek="$MARK_OFF" conv=notrunc status=none
	head -c 16 /dev/urandom >"$T/mark4g"
	dd if="$T/mark4g" of="$BIG" bs=1 seek=$((4294967296 - 8)) conv=notrunc status=none
else
	BIG=
fi

# pick_tcp_port: a random TCP port in 20000-59999 nothing listens on.
pick_tcp_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# start_http ROOT PORT [args...]: pxed serving ROOT over HTTP only on 127.0.0.1:PORT; waits
# (max 10 s) until the port listens. Sets PXED_PID, PXED_LOG.
start_http() {
	local root=$1 port=$2
	shift 2
	SERVER_SEQ=$((SERVER_SEQ + 1))
	PXED_LOG="$T/pxed.$SERVER_SEQ.log"
	SERVER_LOGS+=("$PXED_LOG")
	"$PXED" serve -o http.enabled=yes -o "http.listen=127.0.0.1:$port" -o "http.root=$root" \
		-o tftp.enabled=no -o "server.state-dir=$STATE" -o "server.log-level=$PXED_LOG_LEVEL" \
		"$@" >"$PXED_LOG" 2>&1 &
	PXED_PID=$!
	register_pid "$PXED_PID"
	for _ in $(seq 1 100); do
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
		kill -0 "$PXED_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$PXED_LOG" | sed 's/^/# | /' >&2
	return 1
}

# fetch NAME PATH [curl args...]: GET (or what the args say) into $OUT/NAME; prints
# "CODE BYTES" and keeps the response headers in $OUT/NAME.h.
fetch() {
	local name=$1 path=$2
	shift 2
	timeout 60 curl -sS -g --path-as-is -D "$OUT/$name.h" -o "$OUT/$name" \
		-w '%{http_code} %{size_download}' "$@" "$U$path" 2>"$OUT/$name.err"
}

# hdr NAME HEADER: value of a response header of fetch NAME (no CR).
hdr() { sed -n "s/^$2: //Ip" "$OUT/$1.h" | tr -d '\r' | tail -n 1; }

PORT=$(pick_tcp_port) || exit 1
start_http "$ROOT" "$PORT" || { not_ok "pxed starts with HTTP on 127.0.0.1:$PORT"; finish; }
ok "pxed starts with HTTP on 127.0.0.1:$PORT"
U="http://127.0.0.1:$PORT"

# --- whole files ------------------------------------------------------------------------------
for f in empty.bin one.bin 1m.bin 64m.bin; do
	size=$(stat -c %s "$ROOT/$f")
	check_eq "GET /$f: 200, $size bytes" "200 $size" "$(fetch "$f" "/$f")"
	check_eq "GET /$f: sha256" "$(sha "$ROOT/$f")" "$(sha "$OUT/$f")"
	check_eq "GET /$f: Content-Length" "$size" "$(hdr "$f" Content-Length)"
	check_eq "HEAD /$f: 200, no body" "200 0" "$(fetch "$f.head" "/$f" -I)"
	check_eq "HEAD /$f: Content-Length $size" "$size" "$(hdr "$f.head" Content-Length)"
done
check_eq "GET: Accept-Ranges: bytes" "bytes" "$(hdr 1m.bin Accept-Ranges)"
check "GET: a strong ETag" grep -qiE '^ETag: "[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"' "$OUT/1m.bin.h"
check_eq "GET: Last-Modified is the file's mtime" \
	"$(TZ=GMT LC_ALL=C date -u -r "$ROOT/1m.bin" '+%a, %d %b %Y %H:%M:%S GMT')" \
	"$(hdr 1m.bin Last-Modified)"
check_eq "HEAD and GET: the same ETag" "$(hdr 1m.bin ETag)" "$(hdr 1m.bin.head ETag)"
check_eq "GET /link-in (symlink inside the root): served" "200 1048576" "$(fetch linkin /link-in)"
check_eq "GET /dir/sub/deep.bin: 200" "200 777" "$(fetch deep /dir/sub/deep.bin)"
check_eq "GET /dir//sub/./deep.bin (normalised): 200" "200 777" \
	"$(fetch deep2 /dir//sub/./deep.bin)"
check_eq "GET /one.bin?x=1 (query ignored): 200" "200 1" "$(fetch q '/one.bin?x=1&y=%2e%2e')"
check_eq "GET /%6fne.bin (%-decoded): 200" "200 1" "$(fetch pct /%6fne.bin)"
fetch ipxe /boot.ipxe >/dev/null
check_eq "Content-Type of .ipxe: text/plain" "text/plain" "$(hdr ipxe Content-Type)"
check_eq "Content-Type of .bin: application/octet-stream" "application/octet-stream" \
	"$(hdr 1m.bin Content-Type)"
fetch iso /image.iso >/dev/null
check_eq "Content-Type of .iso: application/x-iso9660-image" "application/x-iso9660-image" \
	"$(hdr iso Content-Type)"

# --- ranges -----------------------------------------------------------------------------------
F="$ROOT/1m.bin"
# range_check LABEL RANGE CODE FIRST LENGTH [FILE]: the body equals bytes [FIRST, FIRST+LENGTH).
range_check() {
	local label=$1 range=$2 code=$3 first=$4 len=$5 file=${6:-1m.bin}
	local size
	size=$(stat -c %s "$ROOT/$file")
	check_eq "Range $range ($label): $code, $len bytes" "$code $len" \
		"$(fetch "r.$label" "/$file" -H "Range: $range")"
	tail -c +$((first + 1)) "$ROOT/$file" | head -c "$len" >"$T/expect"
	check_eq "Range $range ($label): content" "$(sha "$T/expect")" "$(sha "$OUT/r.$label")"
	if [ "$code" = 206 ]; then
		check_eq "Range $range ($label): Content-Range" \
			"bytes $first-$((first + len - 1))/$size" "$(hdr "r.$label" Content-Range)"
	fi
}
range_check first "bytes=0-99" 206 0 100
range_check last "bytes=1048476-1048575" 206 1048476 100
range_check middle "bytes=1000-1999" 206 1000 1000
range_check suffix "bytes=-100" 206 1048476 100
range_check open "bytes=1048000-" 206 1048000 576
range_check past-end "bytes=1048570-2000000" 206 1048570 6
range_check one-byte "bytes=0-0" 206 0 1
range_check 64m-middle "bytes=33554432-34603007" 206 33554432 1048576 64m.bin
range_check several "bytes=0-1,5-6" 200 0 1048576
range_check malformed "bytes=5-4" 200 0 1048576
range_check other-unit "items=0-9" 200 0 1048576
check_eq "Range bytes=1048576- (unsatisfiable): 416" "416" \
	"$(fetch r.416 /1m.bin -H 'Range: bytes=1048576-' | cut -d' ' -f1)"
check_eq "416: Content-Range: bytes */1048576" "bytes */1048576" "$(hdr r.416 Content-Range)"
check_eq "Range bytes=0- on an empty file: 416" "416" \
	"$(fetch r.empty /empty.bin -H 'Range: bytes=0-' | cut -d' ' -f1)"
check_eq "HEAD with Range: 200 (Range is for GET only)" "200 0" \
	"$(fetch r.head /1m.bin -I -H 'Range: bytes=0-9')"
check_eq "HEAD with Range: full Content-Length" "1048576" "$(hdr r.head Content-Length)"

# --- keep-alive -------------------------------------------------------------------------------
conns=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$U/one.bin" "$U/1m.bin")
check_eq "keep-alive: two URLs in one curl use one connection" "1 0 " "$conns"
conns=$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' "$U/nothere" \
	"$U/one.bin" -X POST "$U/one.bin")
check_eq "keep-alive: survives a 404 and a 405" "1 0 0 " "$conns"
conns=$(curl -s --http1.0 -H 'Connection: keep-alive' -o /dev/null -o /dev/null \
	-w '%{num_connects} ' "$U/one.bin" "$U/one.bin")
check_eq "keep-alive: HTTP/1.0 with Connection: keep-alive" "1 0 " "$conns"

# --- validators and conditional requests --------------------------------------------------------
ETAG=$(hdr 1m.bin ETag)
LM=$(hdr 1m.bin Last-Modified)
check_eq "If-None-Match: the ETag -> 304, no body" "304 0" \
	"$(fetch c1 /1m.bin -H "If-None-Match: $ETAG")"
check_eq "304 carries the ETag" "$ETAG" "$(hdr c1 ETag)"
check_eq "If-None-Match: * -> 304" "304 0" "$(fetch c2 /1m.bin -H 'If-None-Match: *')"
check_eq "If-None-Match: another tag -> 200" "200 1048576" \
	"$(fetch c3 /1m.bin -H 'If-None-Match: "nope"')"
check_eq "If-Modified-Since: Last-Modified -> 304" "304 0" \
	"$(fetch c4 /1m.bin -H "If-Modified-Since: $LM")"
check_eq "If-Modified-Since: 1994 -> 200" "200 1048576" \
	"$(fetch c5 /1m.bin -H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT')"
check_eq "If-Match: another tag -> 412" "412" \
	"$(fetch c6 /1m.bin -H 'If-Match: "nope"' | cut -d' ' -f1)"
check_eq "If-Range: the ETag + Range -> 206" "206 10" \
	"$(fetch c7 /1m.bin -H "If-Range: $ETAG" -H 'Range: bytes=0-9')"
check_eq "If-Range: an old ETag + Range -> 200 (whole file)" "200 1048576" \
	"$(fetch c8 /1m.bin -H 'If-Range: "old"' -H 'Range: bytes=0-9')"
check_eq "HEAD with If-None-Match -> 304" "304 0" \
	"$(fetch c9 /1m.bin -I -H "If-None-Match: $ETAG")"
# Changing the file changes its validators.
printf 'x' | dd of="$F" bs=1 seek=5 conv=notrunc status=none
touch -d '2001-02-03 04:05:06' "$F"
check_eq "after a change: the old ETag -> 200" "200 1048576" \
	"$(fetch c10 /1m.bin -H "If-None-Match: $ETAG")"
check "after a change: a new ETag" test "$(hdr c10 ETag)" != "$ETAG"
check_eq "after a change: Last-Modified follows the mtime" "Sat, 03 Feb 2001 04:05:06 GMT" \
	"$(hdr c10 Last-Modified)"
check_eq "after a change: the content is new" "$(sha "$F")" "$(sha "$OUT/c10")"

# --- beyond 4 GiB -----------------------------------------------------------------------------
if [ -n "$BIG" ]; then
	check_eq "HEAD of a 5 GiB sparse file: Content-Length $BIG_SIZE" "$BIG_SIZE" \
		"$(fetch big.head /big5g.img -I >/dev/null; hdr big.head Content-Length)"
	check_eq "Range bytes=$MARK_OFF- of 5 GiB: 206, 100 bytes" "206 100" \
		"$(fetch big /big5g.img -H "Range: bytes=$MARK_OFF-")"
	check_eq "Range at 5 GiB - 100: the bytes written there" "$(sha "$T/mark")" "$(sha "$OUT/big")"
	check_eq "Range at 5 GiB - 100: Content-Range" \
		"bytes $MARK_OFF-$((BIG_SIZE - 1))/$BIG_SIZE" "$(hdr big Content-Range)"
	check_eq "Range bytes=-100 of 5 GiB: the same bytes" "$(sha "$T/mark")" \
		"$(fetch big2 /big5g.img -H 'Range: bytes=-100' >/dev/null; sha "$OUT/big2")"
	tail -c 1048576 "$BIG" >"$T/big-tail"
	check_eq "Range bytes=-1048576 of 5 GiB (sendfile at an offset > 4 GiB)" \
		"206 1048576 $(sha "$T/big-tail")" \
		"$(fetch big4 /big5g.img -H 'Range: bytes=-1048576') $(sha "$OUT/big4")"
	check_eq "Range across 4 GiB: the 16 bytes written there" "206 16 $(sha "$T/mark4g")" \
		"$(fetch big3 /big5g.img -H "Range: bytes=$((4294967296 - 8))-$((4294967296 + 7))") $(sha "$OUT/big3")"
else
	note "no sparse 5 GiB file on this file system: >4 GiB checks skipped"
fi

# --- confinement ------------------------------------------------------------------------------
# python3 directly (not the tftpc function): $! must be the watcher itself, so that kill_pid stops it.
python3 "$INTEG_DIR/tftpc.py" watch "$BOX/canary.txt" "$BOX/srv/canary.txt" --ready "$T/watch.ready" \
	>"$T/watch.log" 2>&1 &
WATCH_PID=$!
register_pid "$WATCH_PID"
for _ in $(seq 1 50); do [ -f "$T/watch.ready" ] && break; sleep 0.1; done
check "inotify watch on the canaries is ready" test -f "$T/watch.ready"
N=0
for path in "/../canary.txt" "/../../canary.txt" "/../etc/passwd" \
	"/../../../../../../../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/%2e%2e/canary.txt" \
	"/%2E%2E/%2E%2E/canary.txt" "/.%2e/.%2e/canary.txt" "/a/..%2f..%2fcanary.txt" \
	"/dir/..%2f..%2f..%2fcanary.txt" "/%2e%2e%2f%2e%2e%2fcanary.txt" "/dir/../../canary.txt" \
	"/dir/sub/../../../canary.txt" "/dir/%2e%2e/%2e%2e/canary.txt" "/link-abs" "/link-rel" \
	"/dir/sub/link-deep" "/one.bin%00" "/one.bin%00.txt" "/%00/../canary.txt" "/%00" \
	"/%2fetc%2fpasswd" "/..%5c..%5ccanary.txt" "/..%5ccanary.txt" "/%252e%252e/canary.txt" \
	"/%c0%ae%c0%ae/canary.txt" "/%zz" "/%" "/%4" "/one%01.bin" "/%1b[31mred" "/%7f" \
	"/$BOX/canary.txt" "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"; do
	res=$(fetch "t.$N" "$path")
	case "$res" in
	4[0-9][0-9]\ *) ok "GET $path: refused (${res%% *})" ;;
	*) not_ok "GET $path: refused with 4xx" "got: $res" ;;
	esac
	N=$((N + 1))
done
long=$(printf '/..%.0s' $(seq 1 600))/canary.txt
res=$(fetch "t.$N" "$long")
case "$res" in 4[0-9][0-9]\ *) ok "GET 600 x /.. + canary: refused (${res%% *})" ;;
*) not_ok "GET 600 x /.. + canary: refused with 4xx" "got: $res" ;; esac
# Raw bytes curl would not send: a control character and a NUL in the request line.
python3 - "$PORT" >"$T/raw" 2>&1 <<'EOF'
import socket, sys
port = int(sys.argv[1])
for target in (b"/\x1b[31mred", b"/one.bin\x00/../../canary.txt", b"/../\x00canary.txt"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    print(repr(target), data.split(b"\r\n", 1)[0].decode("latin1"))
EOF
if grep -q ' HTTP/1.1 200' "$T/raw"; then not_ok "raw control bytes and NUL in the target: refused" "$(cat "$T/raw")"
else ok "raw control bytes and NUL in the target: refused ($(cut -d' ' -f3 "$T/raw" | tr '\n' ' '))"; fi
cp "$T/raw" "$OUT/raw"
if grep -rqF "$CANARY" "$OUT"; then
	not_ok "no response contains the canary content" "$(grep -rlF "$CANARY" "$OUT")"
else
	ok "no response contains the canary content ($(ls "$OUT" | wc -l) files checked)"
fi
if grep -rqE '^root:.*:0:0:' "$OUT"; then
	not_ok "no response contains the host's /etc/passwd"
else
	ok "no response contains the host's /etc/passwd"
fi
sleep 0.3
if [ -s "$T/watch.log" ]; then
	not_ok "the canary files were never opened or read" "$(head -n 5 "$T/watch.log")"
else
	ok "the canary files were never opened or read (inotify)"
fi
cat "$BOX/canary.txt" >/dev/null
for _ in $(seq 1 30); do grep -q 'event=open' "$T/watch.log" && break; sleep 0.1; done
check "control: the inotify watch records an open of the canary" grep -q 'event=open' "$T/watch.log"
kill_pid "$WATCH_PID"

# --- methods, directories ----------------------------------------------------------------------
for m in POST PUT DELETE OPTIONS PATCH; do
	check_eq "$m /one.bin: 405" "405" "$(fetch "m.$m" /one.bin -X "$m" -d x | cut -d' ' -f1)"
done
check_eq "405: Allow: GET, HEAD" "GET, HEAD" "$(hdr m.POST Allow)"
for path in / /dir /dir/ /dir/sub/ /one.bin/ /nothere /dir/nothere.bin; do
	check_eq "GET $path: 404" "404" "$(fetch d "$path" | cut -d' ' -f1)"
done

# --- log lines --------------------------------------------------------------------------------
check "log: one line per request, with peer, target, status, bytes, seconds" \
	grep -qE '^.*http 127\.0\.0\.1:[0-9]+ "GET /64m\.bin" 200 67108864 bytes [0-9]+\.[0-9]{3} s$' \
	"$PXED_LOG"
check "log: HEAD lines count no body bytes" \
	grep -qE 'http 127\.0\.0\.1:[0-9]+ "HEAD /1m\.bin" 200 0 bytes' "$PXED_LOG"
check "log: the query is not logged" grep -qF '"GET /one.bin?..." 200 1 bytes' "$PXED_LOG"
check "log: a refused traversal names why" \
	grep -qE '"GET /\.\./canary\.txt" 403 [0-9]+ bytes .*\(path refused' "$PXED_LOG"
if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$PXED_LOG"; then
	not_ok "log: control bytes of targets are escaped" \
		"$(LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$PXED_LOG" | head -n 3 | cat -v)"
else
	ok "log: control bytes of targets are escaped"
fi
nreq=$(grep -cE 'http 127\.0\.0\.1:[0-9]+ "' "$PXED_LOG")
note "$nreq request lines logged"

# An aborted transfer: read 1 MiB of 64 MiB, then close.
python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /64m.bin HTTP/1.1\r\nHost: x\r\n\r\n")
got = 0
while got < 1 << 20:
    got += len(s.recv(65536))
s.close()
EOF
check "log: a transfer the client abandons is logged as aborted" \
	log_wait '"GET /64m\.bin" 200 [0-9]+ of 67108864 bytes .*aborted: connection closed' 10
check "the server is alive" alive "$PXED_PID"
check_eq "control: a normal file is still served" "200 1" "$(fetch end /one.bin)"
# A transfer in flight when the server stops: logged as aborted by the shutdown.
python3 - "$PORT" "$T/slow.ready" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /64m.bin HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(65536)
open(sys.argv[2], "w").close()
time.sleep(8)
EOF
SLOW_PID=$!
register_pid "$SLOW_PID"
for _ in $(seq 1 50); do [ -f "$T/slow.ready" ] && break; sleep 0.1; done
stop_pxed
check_eq "SIGTERM with a transfer in flight: exit status 0" 0 "$?"
check "log: the transfer in flight is logged as aborted by the shutdown" \
	grep -qE '"GET /64m\.bin" 200 [0-9]+ of 67108864 bytes .*aborted: server shutting down' \
	"$PXED_LOG"
kill_pid "$SLOW_PID"

# --- http.max-connections, http.timeout -----------------------------------------------------------
PORT=$(pick_tcp_port) || exit 1
start_http "$ROOT" "$PORT" -o http.max-connections=2 -o http.timeout=2 ||
	{ not_ok "pxed starts with http.max-connections=2"; finish; }
U="http://127.0.0.1:$PORT"
python3 - "$PORT" >"$T/limit" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=5)
def get(s, path="/one.bin"):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    return data.split(b" ", 2)[1].decode()
a, b = conn(), conn()
print("first", get(a))
print("second", get(b))
time.sleep(0.3)
c = conn()
try:
    print("third", get(c))
except OSError as e:
    print("third", "closed")
c.close()
a.close()
b.close()
time.sleep(0.3)
# The count comes back down after every kind of close: normal, bad request, abandoned
# mid-transfer, a connection that never sends anything, Connection: close.
for i in range(20):
    s = conn(); print("seq", get(s)); s.close()
s = conn(); s.sendall(b"NONSENSE\r\n\r\n"); s.recv(4096); s.close()
s = conn(); s.sendall(b"GET /64m.bin HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(65536); s.close()
s = conn(); s.close()
s = conn(); s.sendall(b"GET /one.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); s.recv(4096); s.close()
time.sleep(0.5)
a, b = conn(), conn()
print("after", get(a), get(b))
a.close(); b.close()
time.sleep(0.3)
# http.timeout=2: an idle connection is closed by the server.
s = conn()
t0 = time.time()
s.settimeout(10)
r = s.recv(1)
print("idle", "closed" if r == b"" else "data", round(time.time() - t0))
EOF
check_eq "max-connections=2: two connections are served" "first 200 second 200" \
	"$(grep -E '^(first|second)' "$T/limit" | tr '\n' ' ' | sed 's/ $//')"
check_eq "max-connections=2: the third is closed without an answer" "third closed" \
	"$(grep '^third' "$T/limit")"
check "log: the refusal is logged" grep -q 'refused: http.max-connections (2) reached' "$PXED_LOG"
check_eq "max-connections: 20 sequential connections after closes are all served" 20 \
	"$(grep -c '^seq 200' "$T/limit")"
check_eq "max-connections: the count comes back to 0 after every kind of close" "after 200 200" \
	"$(grep '^after' "$T/limit")"
case "$(grep '^idle' "$T/limit")" in
"idle closed "[1-4]) ok "http.timeout=2: an idle connection is closed after ~2 s" ;;
*) not_ok "http.timeout=2: an idle connection is closed after ~2 s" "$(cat "$T/limit")" ;;
esac
stop_pxed

# --- reload ------------------------------------------------------------------------------------
PORT=$(pick_tcp_port) || exit 1
cat >"$T/pxed.conf" <<EOF
[server]
state-dir = $STATE
[tftp]
enabled = no
[http]
enabled = yes
listen = 127.0.0.1:$PORT
root = $ROOT
EOF
SERVER_SEQ=$((SERVER_SEQ + 1))
PXED_LOG="$T/pxed.$SERVER_SEQ.log"
SERVER_LOGS+=("$PXED_LOG")
"$PXED" serve -c "$T/pxed.conf" >"$PXED_LOG" 2>&1 &
PXED_PID=$!
register_pid "$PXED_PID"
for _ in $(seq 1 100); do ss -Htln "sport = :$PORT" | grep -q . && break; sleep 0.1; done
U="http://127.0.0.1:$PORT"
check_eq "before reload: /new.txt is not in http.root" "404" "$(fetch n1 /new.txt | cut -d' ' -f1)"
sed -i "s|^root = .*|root = $ROOT2|" "$T/pxed.conf"
kill -HUP "$PXED_PID"
log_wait 'config: reloaded' 5 >/dev/null
check_eq "after SIGHUP: http.root changed, /new.txt is served" "200 14" "$(fetch n2 /new.txt)"
sed -i "s|^root = .*|root = $T/does-not-exist|" "$T/pxed.conf"
kill -HUP "$PXED_PID"
sleep 0.5
check_eq "a reload with a missing http.root is refused; still serving" "200 14" \
	"$(fetch n3 /new.txt)"
stop_pxed
finish
