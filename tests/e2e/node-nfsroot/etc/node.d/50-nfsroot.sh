# shellcheck shell=sh
# shellcheck disable=SC2013,SC2154 # words of /proc/cmdline; $ip etc. come from /init (DHCP)
# NFS root for the e2e node (sourced by the node image's /init after DHCP; see
# tests/e2e/build-node-image.sh and tests/e2e/nfslib.sh, which builds the image with it).
#
# Like the kernel's own NFS root (Documentation/admin-guide/nfs/nfsroot.rst) and
# initramfs-tools' BOOT=nfs:
#   nfsroot=[SERVER:]DIR[,OPTIONS]   on the kernel command line; without it the DHCP root-path
#                                    (option 17, same syntax) is used. "%s" in DIR is replaced
#                                    by the node's address; no SERVER: the DHCP next-server
#                                    (siaddr), else the DHCP server (option 54).
#   ro | rw                          mount read-only (the default, as the kernel) or read-write
#   root=/dev/nfs                    says "NFS root": then a missing nfsroot= and root-path is
#                                    an error; without any of the three this hook does nothing
#   node.nfs-tries=N                 mount attempts, 2 s apart (default 3)
# Mount options: "nolock,addr=SERVER", then the defaults OPTIONS do not set: vers=3 (the
# kernel's nfsroot default), proto=tcp and for v3 mountproto=tcp, then OPTIONS. vers=4.1 gives
# NFSv4.1, which needs neither rpcbind nor mountd on the server; v3 finds both via rpcbind
# unless port= and mountport= are given.
# The export is mounted on /newroot (with nfsroot-mount, a static mount(2) helper: busybox's
# NFS mount cannot do v4), /proc /sys /dev are moved there and the hook execs
# `switch_root /newroot /sbin/init`. Any failure prints
#   NODE-FAILED nfsroot: <why>
# on the console and powers off.

_nr_fail() {
	finish "NODE-FAILED nfsroot: $*"
}

_nr_spec=
_nr_from=
_nr_ro=1
_nr_rootnfs=0
_nr_tries=3
for _nr_a in $(cat /proc/cmdline); do
	case "$_nr_a" in
	nfsroot=*) _nr_spec=${_nr_a#nfsroot=} _nr_from=nfsroot= ;;
	root=/dev/nfs) _nr_rootnfs=1 ;;
	rw) _nr_ro=0 ;;
	ro) _nr_ro=1 ;;
	node.nfs-tries=*) _nr_tries=${_nr_a#*=} ;;
	esac
done
if [ -z "$_nr_spec" ] && [ -n "${rootpath:-}" ]; then
	_nr_spec=$rootpath _nr_from="DHCP root-path"
fi

if [ -n "$_nr_spec" ]; then
	# [SERVER:]DIR[,OPTIONS]
	_nr_opts=
	case "$_nr_spec" in *,*) _nr_opts=${_nr_spec#*,} _nr_spec=${_nr_spec%%,*} ;; esac
	_nr_server=
	case "$_nr_spec" in *:*) _nr_server=${_nr_spec%%:*} _nr_spec=${_nr_spec#*:} ;; esac
	[ -n "$_nr_spec" ] || _nr_spec=/tftpboot/%s
	_nr_dir=$(printf '%s' "$_nr_spec" | sed "s/%s/$ip/g")
	if [ -z "$_nr_server" ]; then
		if [ -n "${siaddr:-}" ] && [ "$siaddr" != 0.0.0.0 ]; then
			_nr_server=$siaddr
		else
			_nr_server=${serverid:-}
		fi
	fi
	case "$_nr_server" in
	[0-9]*.[0-9]*.[0-9]*.[0-9]*) ;;
	"") _nr_fail "no server in '$_nr_from' and none from DHCP" ;;
	*) _nr_fail "server '$_nr_server' is not an IPv4 address" ;;
	esac
	_nr_src="$_nr_server:$_nr_dir"
	# Defaults first, only where OPTIONS do not say (the kernel would take the last anyway).
	_nr_mopts="nolock,addr=$_nr_server"
	_nr_has() { case ",$_nr_opts," in *,$1*) return 0 ;; esac; return 1; }
	_nr_has vers= || _nr_has nfsvers= || _nr_has v3, || _nr_has v4 || _nr_mopts="$_nr_mopts,vers=3"
	_nr_has proto= || _nr_has tcp, || _nr_has udp, || _nr_has rdma, || _nr_mopts="$_nr_mopts,proto=tcp"
	case ",$_nr_opts,$_nr_mopts," in
	*,vers=4* | *,nfsvers=4* | *,v4*) ;;
	*) _nr_has mountproto= || _nr_mopts="$_nr_mopts,mountproto=tcp" ;;
	esac
	_nr_mopts="$_nr_mopts${_nr_opts:+,$_nr_opts}"
	_nr_flag=
	[ "$_nr_ro" = 1 ] && _nr_flag=-r
	echo "node: nfsroot $_nr_src (from $_nr_from), options $_nr_mopts, $([ "$_nr_ro" = 1 ] && echo ro || echo rw)" >/dev/console
	mkdir -p /newroot
	_nr_i=0
	_nr_err=
	while :; do
		_nr_i=$((_nr_i + 1))
		if _nr_err=$(nfsroot-mount $_nr_flag "$_nr_src" /newroot "$_nr_mopts" 2>&1); then
			break
		fi
		[ "$_nr_i" -ge "$_nr_tries" ] &&
			_nr_fail "mount $_nr_src failed after $_nr_i tries: ${_nr_err#nfsroot-mount: } (options $_nr_mopts)"
		echo "node: nfsroot mount $_nr_src failed (${_nr_err#nfsroot-mount: }); again in 2 s" >/dev/console
		sleep 2
	done
	echo "node: nfsroot mounted: $(grep ' /newroot ' /proc/mounts)" >/dev/console
	if [ ! -e /newroot/sbin/init ] && [ ! -L /newroot/sbin/init ]; then
		umount /newroot 2>/dev/null
		_nr_fail "no /sbin/init in $_nr_src"
	fi
	for _nr_m in proc sys dev; do
		mount --move "/$_nr_m" "/newroot/$_nr_m" ||
			_nr_fail "cannot move /$_nr_m to $_nr_src (no /$_nr_m directory there?)"
	done
	echo "node: switch_root to $_nr_src" >/dev/console
	exec switch_root -c /dev/console /newroot /sbin/init
elif [ "$_nr_rootnfs" = 1 ]; then
	_nr_fail "root=/dev/nfs but neither nfsroot= nor a DHCP root-path (option 17)"
fi
