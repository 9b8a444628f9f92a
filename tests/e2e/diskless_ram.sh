#!/bin/bash
# Issue 5, end-to-end scenario 2: a RAM-root node (diskless = ram) through pxed and real firmware
# (SeaBIOS + QEMU's iPXE ROM). No NFS: the node's whole root is pxed's image of the profile's
# template, unpacked by the kernel as its initramfs, with the node's overlay over it.
#
#   - Template: a directory with static busybox and /sbin/init (no /init: pxed's image adds the
#     symlink init -> /sbin/init), etc/hostname "template-ram". The init mounts proc and dev,
#     prints
#       RAM-UP hostname=<etc/hostname> root=<source of /> fstype=<type of /> motd=<etc/motd>
#     and powers off.
#   - Profile diskless = ram (kernel: the e2e node image's vmlinuz; no initrd of its own), an
#     overlay directory with etc/motd.pxed = "hello ${hostname}", a node with a fixed address
#     and a host name. `pxed render` shows both initrds (/diskless/image/PROFILE.cpio.gz, then
#     /diskless/overlay/NODE.cpio.gz).
#   - The overlay is refused (403) to another address (a client namespace, curl).
#   - Boot 1: the VM PXE-boots (DHCP, /boot/<mac>.ipxe, kernel, image, overlay over HTTP);
#     pxed serve builds the image (when it starts: "image of ram built ... /init -> /sbin/init
#     added"); the node prints RAM-UP with the node's host name and motd from its overlay (the
#     overlay is unpacked over the image, whose etc/hostname it replaces) and / = rootfs.
#   - Boot 2: the same node again gets the image (200) and pxed does not re-pack: still one
#     "image of ram built" line, the image file's mtime unchanged.
#
# About 1 minute under TCG on 2 cores.
#
#   PXED=build/pxed bash tests/e2e/diskless_ram.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e7:31
NODE=ramnode
NODE_IP=198.18.0.31
NODE_HOST=ram31-host
SRV=198.18.0.1
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
FAIL_RE="$VM_FAIL_RE|RAM-FAILED"
SCRIPT_RE="/boot/$(mac_path_re $MAC)\.ipxe"
IP_RE=${NODE_IP//./\\.}

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel
e2e_node_image || {
	not_ok "node image builds (its kernel boots the RAM root)"
	finish
}
ok "node kernel: $NODE_DIR/vmlinuz"
if [ ! -x /bin/busybox ] || LC_ALL=C ldd /bin/busybox >/dev/null 2>&1; then
	not_ok "/bin/busybox is static (busybox-static)"
	finish
fi

# --- template, overlay, configuration ---------------------------------------------------------
TEMPLATE="$T/ram-template"
OVERLAY="$T/ram-overlay"
HTTP="$T/http"
CONF="$T/pxed.conf"
mkdir -p "$TEMPLATE"/{bin,sbin,etc,proc,sys,dev,tmp,root} "$OVERLAY/etc" "$HTTP" "$T/state"
cp /bin/busybox "$TEMPLATE/bin/busybox"
ln -s busybox "$TEMPLATE/bin/sh"
echo template-ram >"$TEMPLATE/etc/hostname"
mknod -m 600 "$TEMPLATE/dev/console" c 5 1 # the kernel opens it before /init runs
cat >"$TEMPLATE/sbin/init" <<'INIT'
#!/bin/sh
# RAM-root e2e template init (tests/e2e/diskless_ram.sh): report and power off.
/bin/busybox --install -s /bin
export PATH=/bin
[ -e /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/class ] || mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
host=$(head -n 1 /etc/hostname 2>/dev/null)
root=$(awk '$2 == "/" { s = $1; t = $3 } END { print s " fstype=" t }' /proc/mounts)
motd=$(head -n 1 /etc/motd 2>/dev/null)
echo "RAM-UP hostname=${host:--} root=$root motd=${motd:--}"
sync
poweroff -f
sleep 5
echo "RAM-FAILED poweroff"
while :; do sleep 3600; done
INIT
chmod 755 "$TEMPLATE/sbin/init"
# shellcheck disable=SC2016 # ${hostname} is pxed's template variable
echo 'hello ${hostname}' >"$OVERLAY/etc/motd.pxed"
cp "$NODE_DIR/vmlinuz" "$HTTP/"
cat >"$CONF" <<EOF
# written by tests/e2e/diskless_ram.sh
[server]
state-dir = $T/state
log-level = info

[dhcp]
mode = server
interfaces = br0

[subnet lab]
network = 198.18.0.0/24
range = 198.18.0.100 198.18.0.150

[tftp]
root = $HTTP
listen = $SRV:69

[http]
enabled = yes
listen = $SRV:80
root = $HTTP

[profile ram]
kernel = vmlinuz
cmdline = console=ttyS0 panic=-1 e2e.cfg=ram-\${name}
diskless = ram
template = $TEMPLATE
overlay = $OVERLAY

[node $NODE]
mac = $MAC
ip = $NODE_IP
hostname = $NODE_HOST
profile = ram
EOF
e2e_keep "$CONF"

if timeout 30 "$PXED" check -c "$CONF" >"$T/check.out" 2>&1; then
	ok "pxed check: the configuration is consistent (exit 0)"
else
	not_ok "pxed check: the configuration is consistent" "$(cat "$T/check.out")"
fi
render=$(timeout 30 "$PXED" render "$NODE" -c "$CONF" --server "$SRV" 2>&1)
script=$(printf '%s\n' "$render" | sed -n '/^== HTTP \/boot\//,/^== /p')
if printf '%s\n' "$script" | grep -qx "initrd http://$SRV/diskless/image/ram.cpio.gz" &&
	printf '%s\n' "$script" | grep -qx "initrd http://$SRV/diskless/overlay/$NODE.cpio.gz" &&
	[ "$(printf '%s\n' "$script" | grep '^initrd ' | head -n 1)" = "initrd http://$SRV/diskless/image/ram.cpio.gz" ]; then
	ok "pxed render: the iPXE script loads the image, then the node's overlay"
else
	not_ok "pxed render: the iPXE script loads the image, then the node's overlay" "$render"
fi

# --- lab and pxed serve -----------------------------------------------------------------------
lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
PXED_NETNS=$LAB_NS
start_pxed_conf "$CONF" 67 || {
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab"
	finish
}
if log_wait 'dhcp: DHCP server on' 10 >/dev/null; then
	ok "pxed serves DHCP, TFTP and HTTP in the lab (pid $PXED_PID)"
else
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab" "$(tail -n 10 "$PXED_LOG")"
	finish
fi
lab_capture_start || not_ok "tshark captures br0"

# The overlay (the node's host key is in it) only goes to the node's own address.
if lab_client_ns other 52:54:00:e2:e7:99 198.18.0.99 >/dev/null; then
	code=$(ip netns exec "$LAB_CLIENT_NS" timeout 20 curl -s -o /dev/null -w '%{http_code}' \
		"http://$SRV/diskless/overlay/$NODE.cpio.gz")
	check_eq "overlay of $NODE requested from 198.18.0.99: 403" 403 "$code"
	ip netns del "$LAB_CLIENT_NS"
	ip -n "$LAB_NS" neigh flush all
else
	not_ok "client namespace for the overlay check"
fi

# image_file: the newest built image of profile ram (pxed names it ram-<key>.cpio.gz).
image_file() { find "$T/state/images" -maxdepth 1 -name 'ram-*.cpio.gz' -printf '%T@ %p\n' 2>/dev/null |
	sort -rn | head -n 1 | cut -d' ' -f2-; }

# boot N: one PXE boot of the node to RAM-UP; sets UP (the marker line) and SECS.
boot() {
	local n=$1 t0=$SECONDS
	UP='' SECS=''
	vm_start bios "$NODE-$n" "$MAC" || {
		not_ok "QEMU starts (boot $n)"
		return 1
	}
	if vm_boot_to "boot $n: the node reached RAM-UP" 'RAM-UP ' "$VM_LIMIT" "$FAIL_RE"; then
		UP=$VM_MARKER SECS=$((SECONDS - t0))
	fi
	if vm_wait_exit 30; then
		ok "boot $n: the node powered off"
	else
		not_ok "boot $n: the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"
		vm_stop
	fi
}

# --- boot 1 -----------------------------------------------------------------------------------
boot 1
want="RAM-UP hostname=$NODE_HOST root=rootfs fstype=rootfs motd=hello $NODE_HOST"
check_eq "boot 1: host name and motd from the node's overlay, / is the initramfs (rootfs)" \
	"$want" "$UP"
serial_has "boot 1: the kernel runs the profile's command line" \
	"Command line: .*e2e\.cfg=ram-$NODE"
serial_lacks "boot 1: no 'unable to open an initial console'" 'unable to open an initial console'
pxed_log_has "pxed: DHCP ACK $NODE_IP with the script URL" \
	"dhcp $MAC REQUEST .*node=$NODE -> ACK $IP_RE file=http://198\.18\.0\.1$SCRIPT_RE"
pxed_log_has "pxed: the node fetched its script" "http $IP_RE:[0-9]+ \"GET $SCRIPT_RE\" 200 "
size=$(stat -c %s "$HTTP/vmlinuz")
pxed_log_has "pxed: the node fetched vmlinuz ($size bytes)" \
	"http $IP_RE:[0-9]+ \"GET /vmlinuz\" 200 $size bytes"
pxed_log_has "pxed serve built the image of ram" 'diskless: image of ram built: .*/init -> /sbin/init added'
IMG=$(image_file)
if [ -n "$IMG" ]; then
	isize=$(stat -c %s "$IMG")
	imtime=$(stat -c %.9Y "$IMG")
	ok "the image file: $IMG ($isize bytes)"
	pxed_log_has "pxed: the node fetched the image ($isize bytes)" \
		"http $IP_RE:[0-9]+ \"GET /diskless/image/ram\.cpio\.gz\" 200 $isize bytes"
	if zcat "$IMG" | cpio -it --quiet 2>/dev/null | grep -qx init; then
		ok "the image has /init (pxed added init -> /sbin/init)"
	else
		not_ok "the image has /init (pxed added init -> /sbin/init)" \
			"$(zcat "$IMG" | cpio -it --quiet 2>&1 | head -n 20)"
	fi
else
	not_ok "the image file exists in $T/state/images" "$(ls -la "$T/state/images" 2>&1)"
fi
pxed_log_has "pxed: the node fetched its overlay" \
	"http $IP_RE:[0-9]+ \"GET /diskless/overlay/$NODE\.cpio\.gz\" 200 "
pxed_log_has "pxed: logged the overlay sent to the node's own address" \
	"diskless: overlay of $NODE .* to $IP_RE "
B1=$SECS

# --- boot 2: the image is not packed again -----------------------------------------------------
builds=$(log_count 'diskless: image of ram built: ')
boot 2
check_eq "boot 2: RAM-UP as in boot 1" "$want" "$UP"
n=$(log_count "http $IP_RE:[0-9]+ \"GET /diskless/image/ram\.cpio\.gz\" 200 ")
check_eq "boot 2: the node got the image again (2 GETs with 200)" 2 "$n"
n=$(log_count "http $IP_RE:[0-9]+ \"GET /diskless/overlay/$NODE\.cpio\.gz\" 200 ")
check_eq "boot 2: the node got its overlay again (2 GETs with 200)" 2 "$n"
check_eq "boot 2: pxed did not build the image again (one 'built' line)" \
	"1 1" "$builds $(log_count 'diskless: image of ram built: ')"
if [ -n "${IMG:-}" ]; then
	check_eq "boot 2: the image file is the same (path, mtime)" "$IMG $imtime" \
		"$(image_file) $(stat -c %.9Y "$IMG" 2>&1)"
fi
pxed_log_lacks "pxed: no image or overlay error" 'diskless: (image|overlay) .*(failed|refused to '"$IP_RE"')'
if list=$(timeout 30 "$PXED" diskless image list -c "$CONF" 2>&1) &&
	printf '%s\n' "$list" | grep -qE "^ram +[0-9a-f]+ +[0-9]+ .*${IMG:-/nonexistent}\$"; then
	ok "pxed diskless image list shows the image pxed serve built"
	note "  $(printf '%s\n' "$list" | grep '^ram ')"
else
	not_ok "pxed diskless image list shows the image pxed serve built" "$list"
fi

note "VM start to RAM-UP ($E2E_ACCEL, PXE): boot 1 ${B1:-?} s, boot 2 ${SECS:-?} s"
finish
