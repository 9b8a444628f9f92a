#!/usr/bin/env bash
# Install what building, testing and the demo need on a fresh Debian 12 machine (as root).
# Idempotent and quick when everything is present: apt-get runs only for missing packages.
set -eu

PKGS_BUILD="gcc clang clang-format libclang-rt-14-dev meson ninja-build pkg-config
	libevent-dev libinih-dev libsqlite3-dev libarchive-dev nettle-dev libjson-c-dev"
PKGS_E2E="qemu-system-x86 qemu-system-data ipxe-qemu ovmf ipxe tshark linux-image-amd64
	pxelinux syslinux-common
	busybox-static cpio gzip
	nfs-ganesha nfs-ganesha-vfs rpcbind libc6-dev"
PKGS_TEST="squashfs-tools openssh-client cpio kea-admin sqlite3 busybox-static isc-dhcp-client dhcpcd-base dnsmasq-base isc-dhcp-relay util-linux python3 iproute2 nftables tftp-hpa atftp curl procps"

want="$PKGS_BUILD"
case "${1:-build}" in
test) want="$PKGS_BUILD $PKGS_TEST $PKGS_E2E" ;;
demo) want="$PKGS_BUILD tftp-hpa curl iproute2 procps" ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Install without starting services (isc-dhcp-relay and friends must not run on the host):
	# Debian's policy-rc.d convention, only for the duration of this install.
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		own_policy=1
	fi
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
	[ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "${rc:-0}" = 0 ] || exit "$rc"
fi
