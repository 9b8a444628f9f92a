#!/bin/bash
# Builds a minimal root file system for the diskless e2e tests in DIR: busybox-static as
# bin/busybox with a (relative) symlink per applet (bin/sh, sbin/poweroff, usr/bin/awk, ...),
# the stub directories a kernel root needs (dev proc sys etc tmp root run) and /sbin/init, a
# shell script that, run as PID 1 after the initramfs' switch_root onto the NFS export:
#   - mounts proc/sys/dev if they are not there yet (the initramfs moves its own),
#   - prints to /dev/console
#       DISKLESS-UP hostname=<etc/hostname> root=<source of / in /proc/mounts> fstype=<type>
#     with " template-version=<first line of etc/template-version>" appended when that exists,
#   - with diskless.hold=N on the kernel command line, prints "diskless: holding N s" and waits,
#   - prints "diskless: template-note <first line>" when etc/template-note exists, and
#     "diskless: found /root-written-by-<hostname> from an earlier boot: <its date>" when the
#     file it writes below is already there,
#   - writes /root-written-by-<hostname> (the date) into its root, syncs, and prints
#       diskless: wrote /root-written-by-<hostname>
#     or DISKLESS-FAILED write /root-written-by-<hostname>: <error>  (e.g. a read-only root),
#   - powers off (poweroff -f).
#
#   bash tests/e2e/make-template-root.sh DIR
#
# Variables: TEMPLATE_HOSTNAME (etc/hostname, default "template"), TEMPLATE_VERSION (written
# to etc/template-version when set). Re-running over an existing DIR refreshes these files.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: bash $0 DIR" >&2
	# run.sh runs every tests/e2e/*.sh: this is a helper, not a test.
	echo "# SKIP make-template-root: a helper for the NFS tests, not a test"
	exit 77
fi
DIR=$1
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || {
	echo "make-template-root: $BUSYBOX is missing (package busybox-static)" >&2
	exit 1
}
if LC_ALL=C ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "make-template-root: $BUSYBOX is not static (package busybox-static)" >&2
	exit 1
fi

mkdir -p "$DIR"
cd "$DIR"
mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp root run var/tmp
chmod 1777 tmp var/tmp
chmod 700 root
cp "$BUSYBOX" bin/busybox
chmod 755 bin/busybox
# One symlink per applet at the path busybox would install it (relative: the tree resolves
# inside itself on the server too).
"$BUSYBOX" --list-full | while IFS= read -r p; do
	case "$p" in */*) ;; *) continue ;; esac
	# (not init: that is the script below; writing through a link would overwrite busybox)
	case "$p" in bin/busybox | sbin/init | linuxrc) continue ;; esac
	dir=${p%/*}
	up=$(printf '%s\n' "$dir" | sed 's|[^/][^/]*|..|g')
	ln -sfn "$up/bin/busybox" "$p"
done
[ -L bin/sh ] || ln -sfn busybox bin/sh

echo "${TEMPLATE_HOSTNAME:-template}" >etc/hostname
if [ -n "${TEMPLATE_VERSION:-}" ]; then
	echo "$TEMPLATE_VERSION" >etc/template-version
fi
printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
printf 'root:x:0:\n' >etc/group

rm -f sbin/init
cat >sbin/init <<'INIT'
#!/bin/sh
# Diskless e2e template init (tests/e2e/make-template-root.sh): report, write, power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
[ -e /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/class ] || mount -t sysfs sysfs /sys
[ -c /dev/console ] || mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
host=$(head -n 1 /etc/hostname 2>/dev/null)
host=${host:--}
hostname "$host" 2>/dev/null
# The last mount on / is the NFS export (the initramfs' rootfs stays listed under it).
root=$(awk '$2 == "/" { s = $1; t = $3 } END { print s " fstype=" t }' /proc/mounts)
line="DISKLESS-UP hostname=$host root=$root"
if [ -f /etc/template-version ]; then
	line="$line template-version=$(head -n 1 /etc/template-version)"
fi
echo "$line"
# diskless.hold=N on the kernel command line: wait N seconds (at most 600) before writing, so
# a test can change things on the server (e.g. reload ganesha) while the root is mounted.
for a in $(cat /proc/cmdline); do
	case "$a" in diskless.hold=[0-9]*) hold=${a#*=} ;; esac
done
if [ -n "${hold:-}" ] && [ "$hold" -gt 0 ] 2>/dev/null; then
	[ "$hold" -gt 600 ] && hold=600
	echo "diskless: holding $hold s"
	sleep "$hold"
fi
f=/root-written-by-$host
# What a test can look for after `pxed diskless sync`: a file the template gained, and the file
# this node wrote on an earlier boot (still in its tree).
if [ -f /etc/template-note ]; then
	echo "diskless: template-note $(head -n 1 /etc/template-note)"
fi
if [ -f "$f" ]; then
	echo "diskless: found $f from an earlier boot: $(head -n 1 "$f")"
fi
if err=$({ date >"$f" && sync; } 2>&1); then
	echo "diskless: wrote $f"
else
	echo "DISKLESS-FAILED write $f: $err"
fi
sync
poweroff -f
# (only reached when poweroff fails)
sleep 5
echo "DISKLESS-FAILED poweroff"
while :; do sleep 3600; done
INIT
chmod 755 sbin/init
