#!/bin/bash
# Builds the node image the real-firmware tests boot: the Debian kernel (package
# linux-image-amd64) and a small initramfs made of busybox-static, the NIC drivers
# (e1000, virtio_net, virtio_pci and their dependencies, from that kernel's modules.dep) and an
# /init that brings up the network with udhcpc and prints one marker line to the console:
#
#   NODE-UP hostname=<option 12 from DHCP, or -> ip=<address> iface=eth0 mac=<mac> server=<option 54>
#
# then powers the machine off (`poweroff -f`; with QEMU -no-reboot the VM exits). If DHCP fails it
# prints `NODE-FAILED dhcp iface=...` instead (the marker with -FAILED appended).
#
#   bash tests/e2e/build-node-image.sh [CACHE_DIR]     # default /var/cache/pxed-e2e
#
# prints the directory holding `vmlinuz`, `initrd.img` and `info` (KVER=, MARKER=, CMDLINE=, a
# suggested kernel command line). The result is cached under CACHE_DIR/node/<key>, where key
# hashes every input (this script, the kernel, its modules, busybox, the variables below);
# anything changed gives a new build. Missing packages are installed with apt-get.
#
# Variables (all optional):
#   NODE_KVER      kernel version (default: the newest /boot/vmlinuz-* with /lib/modules/<ver>)
#   NODE_MODULES   modules to load, dependencies added (default: e1000 virtio_pci virtio_net)
#   NODE_MARKER    marker word (default: NODE-UP)
#   NODE_EXTRA_DIR a directory copied over the initramfs root, e.g. etc/node.d/*.sh hooks
#
# Kernel command line parameters read by /init (everything else is the kernel's):
#   node.marker=WORD     marker word instead of the built-in one
#   node.iface=NAME      interface to configure (default eth0)
#   node.dhcp-tries=N    DISCOVERs udhcpc sends before giving up (default 10, 3 s apart)
#   node.poweroff=0      do not power off after the marker (sleeps instead)
#   node.debug=1         set -x in /init
#   node.up-url=URL      after DHCP and the hooks, GET URL (busybox wget) before the marker and
#                        print "node: up-url ok" or "node: up-url failed: ..." (pxed's
#                        ${up-url}: the node's "I am up" event in `pxed status NODE`)
# Hooks: after DHCP, /init sources every /etc/node.d/*.sh (from NODE_EXTRA_DIR) with the DHCP
# results in the environment (ip, mask, router, dns, hostname, domain, siaddr, boot_file,
# serverid, rootpath, ...; also saved in /run/dhcp.env). A hook may exec (switch_root) and never
# return; otherwise the marker is printed after the hooks.
set -eu
set -o pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
CACHE=${1:-${NODE_CACHE_DIR:-/var/cache/pxed-e2e}}
NODE_MODULES=${NODE_MODULES:-e1000 virtio_pci virtio_net}
NODE_MARKER=${NODE_MARKER:-NODE-UP}
NODE_EXTRA_DIR=${NODE_EXTRA_DIR:-}

say() { echo "build-node-image: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# need_pkgs PKG...: apt-get install the ones not installed (waits for another apt-get's lock).
need_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 900 apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
	timeout 1800 apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

need_pkgs linux-image-amd64 busybox-static cpio gzip

# --- the kernel ---------------------------------------------------------------------------
if [ -z "${NODE_KVER:-}" ]; then
	NODE_KVER=$(for f in /boot/vmlinuz-*; do
		k=${f#/boot/vmlinuz-}
		[ -f "/lib/modules/$k/modules.dep" ] && echo "$k"
	done | sort -V | tail -n 1)
fi
[ -n "$NODE_KVER" ] || die "no /boot/vmlinuz-* with /lib/modules/<version>/modules.dep"
KIMG=/boot/vmlinuz-$NODE_KVER
MODDIR=/lib/modules/$NODE_KVER
[ -r "$KIMG" ] || die "$KIMG is missing or unreadable"
[ -r "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep is missing"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (package busybox-static)"
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || die "$BUSYBOX is not statically linked (package busybox-static)"

# --- modules and their dependencies, in load order (dependencies first) --------------------
declare -A MOD_PATH=() MOD_DEPS=() MOD_SEEN=()
while IFS= read -r line; do
	path=${line%%:*}
	deps=${line#*:}
	name=${path##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	MOD_PATH[$name]=$path
	MOD_DEPS[$name]=$deps
done <"$MODDIR/modules.dep"

MOD_ORDER=()
add_module() {
	local name=${1//-/_} d dn
	[ -n "${MOD_SEEN[$name]:-}" ] && return 0
	if [ -z "${MOD_PATH[$name]:-}" ]; then
		# Built into the kernel: nothing to load.
		grep -q "/$name.ko" "$MODDIR/modules.builtin" 2>/dev/null && return 0
		die "module $name not found in $MODDIR/modules.dep (nor built in)"
	fi
	MOD_SEEN[$name]=1
	for d in ${MOD_DEPS[$name]}; do
		dn=${d##*/}
		add_module "${dn%%.ko*}"
	done
	MOD_ORDER+=("${MOD_PATH[$name]}")
}
for m in $NODE_MODULES; do
	add_module "$m"
done

# --- cache key: every input -----------------------------------------------------------------
key=$(
	{
		sha256sum "$SELF" "$KIMG" "$BUSYBOX" | cut -d' ' -f1
		for p in "${MOD_ORDER[@]}"; do sha256sum "$MODDIR/$p"; done
		echo "kver=$NODE_KVER modules=$NODE_MODULES marker=$NODE_MARKER"
		if [ -n "$NODE_EXTRA_DIR" ]; then
			[ -d "$NODE_EXTRA_DIR" ] || die "NODE_EXTRA_DIR=$NODE_EXTRA_DIR is not a directory"
			(cd "$NODE_EXTRA_DIR" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
			(cd "$NODE_EXTRA_DIR" && find . -printf '%p %m %l\n' | sort)
		fi
	} | sha256sum | cut -c1-16
)
OUT=$CACHE/node/$key
mkdir -p "$CACHE/node"

exec 9>"$CACHE/node/.lock"
flock -w 600 9 || die "cannot lock $CACHE/node/.lock"
if [ -f "$OUT/info" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
	touch "$OUT" "$OUT/info"
	echo "$OUT"
	exit 0
fi

say "building $OUT (kernel $NODE_KVER, modules: $NODE_MODULES)"
STAGE=$(mktemp -d "$CACHE/node/.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/root
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,run,etc/node.d,lib/modules}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3

: >"$R/etc/node-modules"
for p in "${MOD_ORDER[@]}"; do
	base=$(basename "$p")
	case "$base" in
	*.ko) cp "$MODDIR/$p" "$R/lib/modules/$base" ;;
	*.ko.xz) xz -dc "$MODDIR/$p" >"$R/lib/modules/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "$MODDIR/$p" >"$R/lib/modules/${base%.zst}" ;;
	*.ko.gz) gzip -dc "$MODDIR/$p" >"$R/lib/modules/${base%.gz}" ;;
	*) die "unknown module file type: $p" ;;
	esac
	echo "${base%%.ko*}.ko" >>"$R/etc/node-modules"
done

cat >"$R/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc event script: configure the interface, set the host name, save the results.
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
	[ -n "${hostname:-}" ] && hostname "$hostname"
	for v in interface ip mask subnet broadcast router dns hostname domain siaddr sname \
		boot_file serverid rootpath lease tftp bootfile; do
		eval "val=\${$v-}"
		printf "%s='%s'\n" "$v" "$(printf '%s' "$val" | sed "s/'/'\\\\''/g")"
	done >/run/dhcp.env
	;;
esac
exit 0
EOF

sed "s|@MARKER@|$NODE_MARKER|" >"$R/init" <<'EOF'
#!/bin/sh
# pxed e2e node: load the NIC drivers, DHCP on one interface, print the marker, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /tmp

MARKER=@MARKER@
IFACE=eth0
TRIES=10
POWEROFF=1
UPURL=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	node.marker=*) MARKER=${arg#*=} ;;
	node.iface=*) IFACE=${arg#*=} ;;
	node.dhcp-tries=*) TRIES=${arg#*=} ;;
	node.poweroff=*) POWEROFF=${arg#*=} ;;
	node.debug=1) set -x ;;
	node.up-url=*) UPURL=${arg#*=} ;;
	esac
done

finish() {
	echo "$*" >/dev/console
	sync
	if [ "$POWEROFF" = 0 ]; then
		while :; do sleep 3600; done
	fi
	poweroff -f
}

for m in $(cat /etc/node-modules); do
	insmod "/lib/modules/$m" 2>/dev/null || echo "node: insmod $m failed" >/dev/console
done
i=0
while [ ! -e "/sys/class/net/$IFACE" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e "/sys/class/net/$IFACE" ] || finish "$MARKER-FAILED no-interface iface=$IFACE"
ip link set lo up
ip link set "$IFACE" up
MAC=$(cat "/sys/class/net/$IFACE/address")
echo "node: udhcpc on $IFACE ($MAC)" >/dev/console
if ! udhcpc -f -q -n -i "$IFACE" -s /etc/udhcpc.script -t "$TRIES" -T 3 -O hostname \
	-O rootpath || [ ! -f /run/dhcp.env ]; then
	finish "$MARKER-FAILED dhcp iface=$IFACE mac=$MAC"
fi
. /run/dhcp.env
for h in /etc/node.d/*.sh; do
	[ -f "$h" ] && . "$h"
done
if [ -n "$UPURL" ]; then
	# (busybox-static 1.35's wget crashes with -T: busybox timeout bounds it instead)
	if timeout 15 wget -q -O /dev/null "$UPURL" 2>/tmp/up.err; then
		echo "node: up-url ok" >/dev/console
	else
		echo "node: up-url failed: $(tr '\n' ' ' </tmp/up.err)" >/dev/console
	fi
fi
finish "$MARKER hostname=${hostname:--} ip=$ip iface=$IFACE mac=$MAC server=${serverid:--}"
EOF
chmod 755 "$R/init" "$R/etc/udhcpc.script"

if [ -n "$NODE_EXTRA_DIR" ]; then
	cp -a "$NODE_EXTRA_DIR"/. "$R"/
fi

mkdir -p "$STAGE/out"
cp "$KIMG" "$STAGE/out/vmlinuz"
(cd "$R" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -9n \
	>"$STAGE/out/initrd.img"
cat >"$STAGE/out/info" <<EOF
KVER=$NODE_KVER
MARKER=$NODE_MARKER
MODULES="$NODE_MODULES"
LOAD_ORDER="$(tr '\n' ' ' <"$R/etc/node-modules")"
CMDLINE="console=ttyS0 panic=-1"
EOF
rm -rf "$OUT"
mv "$STAGE/out" "$OUT"
# Drop builds nobody used for 30 days.
find "$CACHE/node" -mindepth 1 -maxdepth 1 -type d -name '[0-9a-f]*' -mtime +30 \
	-exec rm -rf {} + 2>/dev/null || true
say "done: $(du -sh "$OUT" | cut -f1)"
echo "$OUT"
