#!/bin/bash
# RAM-root images and overlays over HTTP (docs/diskless-ram.md): a template directory
# (busybox-static, /sbin/init, a hard link) packed into a gzip cpio with /init added; the image
# and the per-node overlay served with strong ETags (304 on If-None-Match), Range and HEAD; a
# changed template gives a new ETag, one build for concurrent requests, the old archive removed;
# a docker-save tar (two layers, whiteouts, an opaque directory, unsafe names) and an OCI layout
# tar (gzip layers) merged; .pxed overlay templates rendered; the overlay refused (403) to a
# machine that is not the node; `pxed diskless image build/list` and `pxed diskless overlay`.
# Loopback only; the server is started and stopped by PID.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed"
command -v cpio >/dev/null || skip_all "cpio is not installed"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || skip_all "busybox is not installed"

TPL="$T/template"
OVL="$T/overlay"
STATE="$T/state"
ROOT="$T/httproot"
OUT="$T/out"
mkdir -p "$TPL/bin" "$TPL/sbin" "$TPL/etc" "$OVL/etc/motd.d" "$STATE" "$ROOT" "$OUT"
cp "$BUSYBOX" "$TPL/bin/busybox"
ln -s busybox "$TPL/bin/sh"
printf '#!/bin/sh\nexec /bin/busybox sh\n' >"$TPL/sbin/init"
chmod 755 "$TPL/sbin/init"
echo "welcome" >"$TPL/etc/issue"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$TPL/dev" && mknod -m 600 "$TPL/dev/console" c 5 1
fi
ln "$TPL/etc/issue" "$TPL/etc/issue.net"
printf 'node=${hostname} ip=${ip} rack=${rack}\n' >"$OVL/etc/node-info.pxed"
echo "plain file" >"$OVL/etc/motd.d/10-plain"

# A docker-save tar: two layers, whiteouts, an opaque dir, unsafe names; and an OCI layout.
python3 - "$T" <<'PY'
import gzip, hashlib, io, json, sys, tarfile
t = sys.argv[1]
def layer(entries, gz=False):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as tf:
        for name, data in entries:
            if data is None:
                ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
                tf.addfile(ti)
            else:
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(data))
    raw = b.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw
l1 = [("etc", None), ("etc/a", b"one\n"), ("etc/gone", b"x\n"), ("var", None),
      ("var/cache", None), ("var/cache/old", b"old\n"), ("sbin", None),
      ("sbin/init", b"#!/bin/sh\n")]
l2 = [("etc/a", b"two\n"), ("etc/.wh.gone", b""), ("var/cache/.wh..wh..opq", b""),
      ("var/cache/new", b"new\n"), ("../evil", b"evil\n"), ("/abs", b"abs\n")]
def add(tf, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
with tarfile.open(t + "/docker.tar", "w") as tf:
    add(tf, "l1/layer.tar", layer(l1))
    add(tf, "l2/layer.tar", layer(l2))
    add(tf, "manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["x:1"],
        "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode())
    add(tf, "c.json", b"{}")
blobs = {}
def blob(data):
    d = hashlib.sha256(data).hexdigest(); blobs[d] = data; return "sha256:" + d
g1, g2 = blob(layer(l1, True)), blob(layer(l2, True))
cfg = blob(b"{}")
man = blob(json.dumps({"schemaVersion": 2, "config": {"digest": cfg},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": g1},
               {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": g2}]}).encode())
with tarfile.open(t + "/oci.tar", "w") as tf:
    add(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(tf, "index.json", json.dumps({"schemaVersion": 2, "manifests": [{"digest": man}]}).encode())
    for d, data in blobs.items():
        add(tf, "blobs/sha256/" + d, data)
PY

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
PORT=$(pick_tcp_port)
CONF="$T/pxed.conf"
cat >"$CONF" <<CONF
[server]
state-dir = $STATE
log-level = debug
[tftp]
enabled = no
[http]
enabled = yes
listen = 127.0.0.1:$PORT
root = $ROOT
[profile ram]
kernel = k/vmlinuz
diskless = ram
template = $TPL
overlay = $OVL
var.rack = r7
[profile sq]
kernel = k/vmlinuz
diskless = ram
template = $T/docker.tar
squashfs = yes
[profile broken]
kernel = k/vmlinuz
diskless = ram
template = $T/no-such-template
[profile dock]
kernel = k/vmlinuz
diskless = ram
template = $T/docker.tar
[profile oci]
kernel = k/vmlinuz
diskless = ram
template = $T/oci.tar
[node n1]
mac = 52:54:00:00:00:01
ip = 127.0.0.1
hostname = node-one
profile = ram
[node n2]
mac = 52:54:00:00:00:02
ip = 10.99.0.2
profile = ram
CONF

SERVER_SEQ=$((SERVER_SEQ + 1))
PXED_LOG="$T/pxed.1.log"
SERVER_LOGS+=("$PXED_LOG")
"$PXED" serve -c "$CONF" >"$PXED_LOG" 2>&1 &
PXED_PID=$!
register_pid "$PXED_PID"
for _ in $(seq 1 100); do
	ss -Htln "sport = :$PORT" 2>/dev/null | grep -q . && break
	sleep 0.1
done
URL="http://127.0.0.1:$PORT"

# get PATH NAME [curl args]: body into $OUT/NAME, headers into $OUT/NAME.h; prints the status.
get() {
	local p=$1 n=$2
	shift 2
	curl -s -o "$OUT/$n" -D "$OUT/$n.h" -w '%{http_code}' "$@" "$URL$p"
}
hdr() { sed -n "s/^$2: //Ip" "$OUT/$1.h" | tr -d '\r' | head -n 1; }

# --- the built-at-start image of a directory template ---
check "background build at start logged" log_wait "diskless: image of ram built" 20 >/dev/null
st=$(get /diskless/image/ram.cpio.gz img1)
check_eq "image: 200" 200 "$st"
ET1=$(hdr img1 ETag)
case "$ET1" in \"[0-9a-f]*\") ok "image: strong ETag ($ET1)" ;; *) not_ok "image: strong ETag" "$ET1" ;; esac
[ -n "$(hdr img1 Last-Modified)" ] && ok "image: Last-Modified" || not_ok "image: Last-Modified"
LIST=$(gzip -dc "$OUT/img1" | cpio -t --quiet 2>/dev/null | sort)
for f in init bin/busybox bin/sh sbin/init etc/issue etc/issue.net; do
	if grep -qx "$f" <<<"$LIST"; then ok "image lists /$f"; else not_ok "image lists /$f" "$LIST"; fi
done
mkdir -p "$OUT/x1" && (cd "$OUT/x1" && gzip -dc "$OUT/img1" | cpio -id --quiet 2>/dev/null)
check_eq "image: /init -> /sbin/init" /sbin/init "$(readlink "$OUT/x1/init")"
check "image: busybox intact" cmp -s "$BUSYBOX" "$OUT/x1/bin/busybox"
check_eq "image: hard link content" welcome "$(cat "$OUT/x1/etc/issue.net")"
st=$(get /diskless/image/ram.cpio.gz img304 -H "If-None-Match: $ET1")
check_eq "image: If-None-Match -> 304" 304 "$st"
check_eq "image: 304 has no body" 0 "$(stat -c %s "$OUT/img304" 2>/dev/null || echo 0)"
st=$(get /diskless/image/ram.cpio.gz imgr -r 0-99)
check_eq "image: Range -> 206" 206 "$st"
check "image: Range bytes" cmp -s "$OUT/imgr" <(head -c 100 "$OUT/img1")
st=$(get /diskless/image/ram.cpio.gz imgh -I)
check_eq "image: HEAD 200" 200 "$st"
check_eq "image: HEAD Content-Length" "$(stat -c %s "$OUT/img1")" "$(hdr imgh Content-Length)"
if [ "$(id -u)" = 0 ]; then
	check "image: /dev/console is a char device 5,1" sh -c "gzip -dc '$OUT/img1' | cpio -tv --quiet 2>/dev/null | grep -qE '^crw------- .* 5, +1 .* dev/console$'"
fi
check_eq "broken template: 500" 500 "$(get /diskless/image/broken.cpio.gz broken)"
check "broken template: reason logged" log_wait "image of broken failed: template $T/no-such-template: No such file" 2 >/dev/null
check_eq "unknown profile: 404" 404 "$(get /diskless/image/nope.cpio.gz nope)"
check_eq "squashfs of a profile without squashfs: 404" 404 "$(get /diskless/image/ram.squashfs nsq)"

# --- a changed template: new key, one build for concurrent requests, old archive removed ---
echo "new" >"$TPL/etc/added"
sleep 1.2
pids=()
for i in 1 2 3 4; do
	curl -s -o "$OUT/par$i" -D "$OUT/par$i.h" "$URL/diskless/image/ram.cpio.gz" &
	pids+=($!)
done
wait "${pids[@]}"
ET2=$(hdr par1 ETag)
[ -n "$ET2" ] && [ "$ET2" != "$ET1" ] && ok "changed template: new ETag" || not_ok "changed template: new ETag" "$ET1 / $ET2"
same=1
for i in 2 3 4; do [ "$(hdr par$i ETag)" = "$ET2" ] || same=0; done
check_eq "concurrent requests: same image" 1 "$same"
check_eq "concurrent requests: one build" 2 "$(log_count 'diskless: image of ram built')"
check "new image lists /etc/added" grep -qx etc/added <(gzip -dc "$OUT/par1" | cpio -t --quiet 2>/dev/null)
n_ram=0
for f in "$STATE"/images/ram-*.cpio.gz; do [ -e "$f" ] && n_ram=$((n_ram + 1)); done
check_eq "old archive removed" 1 "$n_ram"
st=$(get /diskless/image/ram.cpio.gz img304b -H "If-None-Match: $ET2")
check_eq "unchanged again: 304" 304 "$st"

# --- tar templates ---
for prof in dock oci; do
	st=$(get /diskless/image/$prof.cpio.gz $prof)
	check_eq "$prof: 200" 200 "$st"
	mkdir -p "$OUT/x-$prof"
	(cd "$OUT/x-$prof" && gzip -dc "$OUT/$prof" | cpio -id --quiet 2>/dev/null)
	check_eq "$prof: upper layer wins" two "$(cat "$OUT/x-$prof/etc/a" 2>&1)"
	check "$prof: whiteout deletes" test ! -e "$OUT/x-$prof/etc/gone"
	check "$prof: opaque dir hides lower" test ! -e "$OUT/x-$prof/var/cache/old"
	check "$prof: opaque dir keeps upper" test -f "$OUT/x-$prof/var/cache/new"
	check "$prof: no whiteout files" sh -c "! gzip -dc '$OUT/$prof' | cpio -t --quiet 2>/dev/null | grep -q '\.wh\.'"
	check "$prof: unsafe names skipped" sh -c "! gzip -dc '$OUT/$prof' | cpio -t --quiet 2>/dev/null | grep -qE '(^|/)(evil|abs)$'"
	check_eq "$prof: /init added" /sbin/init "$(readlink "$OUT/x-$prof/init")"
done
if command -v sqfstar >/dev/null && command -v unsquashfs >/dev/null; then
	st=$(get /diskless/image/sq.squashfs sq)
	check_eq "squashfs: 200" 200 "$st"
	check "squashfs: merged tree with /init" sh -c "unsquashfs -l '$OUT/sq' | grep -q 'squashfs-root/var/cache/new' && unsquashfs -l '$OUT/sq' | grep -q 'squashfs-root/init'"
	check "squashfs: no whiteouts" sh -c "! unsquashfs -l '$OUT/sq' | grep -qE 'wh\.|cache/old|etc/gone'"
fi
check "unsafe entries logged" log_wait "image of dock: 2 unsafe entries skipped" 2 >/dev/null

# --- the overlay ---
st=$(get /diskless/overlay/n1.cpio.gz ov1)
check_eq "overlay: 200 for the node's own address" 200 "$st"
OE=$(hdr ov1 ETag)
mkdir -p "$OUT/ov" && (cd "$OUT/ov" && gzip -dc "$OUT/ov1" | cpio -id --quiet 2>/dev/null)
check_eq "overlay: /etc/hostname" node-one "$(cat "$OUT/ov/etc/hostname")"
check_eq "overlay: template rendered" "node=node-one ip=127.0.0.1 rack=r7" "$(cat "$OUT/ov/etc/node-info")"
check "overlay: no .pxed names" test ! -e "$OUT/ov/etc/node-info.pxed"
check_eq "overlay: plain file copied" "plain file" "$(cat "$OUT/ov/etc/motd.d/10-plain")"
check "overlay: fstab has tmpfs /tmp" grep -q '^tmpfs[[:space:]]/tmp' "$OUT/ov/etc/fstab"
check "overlay: interfaces dhcp" grep -q 'inet dhcp' "$OUT/ov/etc/network/interfaces"
if command -v ssh-keygen >/dev/null; then
	check "overlay: ssh host key" test -s "$OUT/ov/etc/ssh/ssh_host_ed25519_key"
	check_eq "overlay: host key mode 600" 600 "$(stat -c %a "$STATE/diskless/keys/n1/ssh_host_ed25519_key")"
	st=$(get /diskless/overlay/n1.cpio.gz ov2)
	check "overlay: same key on the next render" cmp -s "$OUT/ov1" "$OUT/ov2"
fi
check_eq "overlay: stable ETag" "$OE" "$(hdr ov2 ETag)"
check_eq "overlay: Range -> 206" 206 "$(get /diskless/overlay/n1.cpio.gz ovr -r 10-29)"
check "overlay: Range bytes" cmp -s "$OUT/ovr" <(tail -c +11 "$OUT/ov1" | head -c 20)
check_eq "overlay: If-None-Match -> 304" 304 "$(get /diskless/overlay/n1.cpio.gz ov304 -H "If-None-Match: $OE")"
check_eq "overlay: another node's -> 403" 403 "$(get /diskless/overlay/n2.cpio.gz ovn2)"
check "overlay refusal logged" log_wait 'overlay "/diskless/overlay/n2.cpio.gz" refused to 127.0.0.1' 2 >/dev/null
check_eq "overlay: unknown node -> 404" 404 "$(get /diskless/overlay/zz.cpio.gz ovzz)"

stop_pxed
check_eq "server stops cleanly" 0 "$?"

# --- the commands ---
out=$("$PXED" diskless image build ram -c "$CONF" 2>&1)
check "image build: current" grep -q "ram: current" <<<"$out"
out=$("$PXED" diskless image build --all --force -c "$CONF" 2>&1)
check_eq "image build --all --force: four built" 4 "$(grep -c ': built .*cpio.gz' <<<"$out")"
out=$("$PXED" diskless image list -c "$CONF" 2>&1)
check "image list shows dock" grep -q '^dock ' <<<"$out"
out=$("$PXED" diskless overlay n1 -c "$CONF" 2>&1)
check "overlay lists /etc/hostname" grep -q ' /etc/hostname$' <<<"$out"
"$PXED" diskless overlay n1 -c "$CONF" --out "$OUT/cli-ov.cpio.gz" >/dev/null 2>&1
check "overlay --out equals the served one" cmp -s "$OUT/cli-ov.cpio.gz" "$OUT/ov1"
"$PXED" diskless image build nope -c "$CONF" >/dev/null 2>&1
check_eq "image build of an unknown profile: exit 1" 1 "$?"

finish
