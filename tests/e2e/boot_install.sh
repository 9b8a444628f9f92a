#!/bin/bash
# Issue 4, scenarios 6 and 7 in one run: a kickstart install, once.
#
# The node `inst` has an installer profile (install = yes, kickstart = a template) whose
# command line passes e2e.ks=${ks-url} e2e.up=${up-url} and e2e.ks-other=<the other node's
# kickstart URL, without token>. The node image carries a fake installer: a hook in
# /etc/node.d/ reads /proc/cmdline, fetches its kickstart with busybox wget and prints every line
# as "KS| ...", tries the other node's kickstart (must be refused: 403), and calls the up URL.
#
# 6. `pxed node inst reinstall`; boot 1 (BIOS iPXE ROM -> the rendered script over HTTP ->
#    the installer kernel): the kickstart the node prints is its own, rendered (name, host
#    name, address, MAC, var.disk); the other node's is refused with 403; from a client
#    namespace, /ks/inst without or with a wrong token is refused, with the node's token it is
#    served.
# 7. Fetching the kickstart cleared the reinstall flag: boot 2 gets local boot (the iPXE
#    script says so and `exit`s; SeaBIOS goes on to the VM's disk, whose boot sector prints
#    LOCAL-DISK-BOOT), no kernel is fetched again, and `pxed status inst` shows the timeline:
#    reinstall requested, dhcp, the script, the kickstart, reinstall-done, up.
#
# About 70-100 s under TCG (two boots; the second stops at the firmware).
#
#   PXED=build/pxed bash tests/e2e/boot_install.sh
. "$(dirname "$0")/lib.sh"

MAC=52:54:00:e2:e4:35
NODE_IP=198.18.0.35
NODE_HOST=e2e-install-node
MAC_O=52:54:00:e2:e4:36 # the other node: never boots here
VM_LIMIT=${E2E_BOOT_TIMEOUT:-240}
SCRIPT_RE="/boot/$(mac_path_re $MAC)\.ipxe"

e2e_require
E2E_VM_TIMEOUT=$((VM_LIMIT + 30))
e2e_accel

# The fake installer, added to the node image.
mkdir -p "$T/extra/etc/node.d"
cat >"$T/extra/etc/node.d/50-install.sh" <<'EOF'
# e2e fake installer: fetch the kickstart (e2e.ks=URL), print it, try another node's
# (e2e.ks-other=URL), call the up URL (e2e.up=URL). Sourced by /init after DHCP.
# (busybox-static 1.35's wget crashes with -T: the time limit is busybox timeout's.)
ks= other= up=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	e2e.ks=*) ks=${arg#*=} ;;
	e2e.ks-other=*) other=${arg#*=} ;;
	e2e.up=*) up=${arg#*=} ;;
	esac
done
if [ -n "$ks" ]; then
	if timeout 15 wget -q -O /tmp/ks "$ks" 2>/tmp/ks.err; then
		echo "KS-FETCH ok bytes=$(wc -c </tmp/ks)" >/dev/console
		sed 's/^/KS| /' /tmp/ks >/dev/console
	else
		echo "KS-FETCH failed: $(tr '\n' ' ' </tmp/ks.err)" >/dev/console
	fi
fi
if [ -n "$other" ]; then
	if timeout 15 wget -q -O /tmp/other "$other" 2>/tmp/other.err; then
		echo "KS-OTHER served $(wc -c </tmp/other) bytes" >/dev/console
	else
		echo "KS-OTHER refused: $(tr '\n' ' ' </tmp/other.err)" >/dev/console
	fi
fi
if [ -n "$up" ]; then
	if timeout 15 wget -q -O /tmp/up "$up" 2>/tmp/up.err; then
		echo "UP-CALLBACK ok" >/dev/console
	else
		echo "UP-CALLBACK failed: $(tr '\n' ' ' </tmp/up.err)" >/dev/console
	fi
fi
EOF
chmod 644 "$T/extra/etc/node.d/50-install.sh"
NODE_EXTRA_DIR="$T/extra" e2e_node_image || {
	not_ok "node image (with the fake installer) builds"
	finish
}
ok "node image with the fake installer: $NODE_DIR"

ROOT="$T/tftp"
lab_node_files "$ROOT"
mkdir -p "$T/templates"
cat >"$T/templates/e2e.ks" <<'EOF'
# kickstart for ${name}, rendered by pxed
KS-MARKER name=${name} host=${hostname} ip=${ip} mac=${mac} disk=${disk}
network --bootproto=dhcp --hostname=${hostname}
rootpw --iscrypted $6$salt$hash # $${literal}
%post
curl -fsS "${up-url}" || true
%end
EOF

lab_setup || {
	not_ok "lab namespace with br0"
	finish
}
lab_pxed_server \
	-o http.enabled=yes -o http.listen=198.18.0.1:80 -o boot.templates="$T/templates" \
	-o profile.installer.kernel=vmlinuz -o profile.installer.initrd=initrd.img \
	-o profile.installer.install=yes -o profile.installer.kickstart=e2e.ks \
	-o 'profile.installer.cmdline=console=ttyS0 panic=-1 e2e.ks=${ks-url} e2e.ks-other=${http}/ks/other e2e.up=${up-url}' \
	-o node.inst.mac=$MAC -o node.inst.ip=$NODE_IP -o node.inst.hostname=$NODE_HOST \
	-o node.inst.profile=installer -o node.inst.var.disk=vda \
	-o node.other.mac=$MAC_O -o node.other.ip=198.18.0.36 -o node.other.profile=installer || {
	not_ok "pxed serves DHCP, TFTP and HTTP in the lab"
	finish
}
ok "pxed serves DHCP, TFTP and HTTP in the lab (pid $PXED_PID)"
lab_capture_start || not_ok "tshark captures br0"

# --- reinstall requested ----------------------------------------------------------------------
if out=$(timeout 10 "$PXED" node inst reinstall -o server.state-dir="$T/state" 2>&1); then
	ok "pxed node inst reinstall"
	note "  $out"
else
	not_ok "pxed node inst reinstall" "$out"
fi
status_has "pxed status: inst has its reinstall flag set" "" '^inst +.* yes '

# The machine has a disk (after the NIC in the boot order): "the installed system".
lab_local_disk "$T/disk.img"
DISK=(-drive "file=$T/disk.img,format=raw,if=none,id=d0" -device ide-hd,drive=d0,bootindex=2)

# --- boot 1: the installer ----------------------------------------------------------------------
vm_start bios inst1 "$MAC" "${DISK[@]}" || {
	not_ok "QEMU starts (boot 1)"
	finish
}
vm_boot_to "boot 1: the installer ran and the node reached NODE-UP" 'NODE-UP ' "$VM_LIMIT" &&
	{ vm_wait_exit 30 && ok "boot 1: the node powered off" ||
		not_ok "boot 1: the node powered off" "QEMU (pid $VM_PID) still runs 30 s after the marker"; }
S1=$VM_SERIAL

serial_has "boot 1: iPXE ran the installer profile" 'pxed: booting installer'
serial_has "boot 1: the node fetched its kickstart" 'KS-FETCH ok bytes=[1-9]'
serial_has "boot 1: the kickstart is the node's own, rendered" \
	"KS\| KS-MARKER name=inst host=$NODE_HOST ip=$NODE_IP mac=$MAC disk=vda"
serial_has "boot 1: host name rendered into the network line" \
	"KS\| network --bootproto=dhcp --hostname=$NODE_HOST"
serial_has "boot 1: \$\${x} renders as a literal \${x}, a lone \$ stays" \
	'KS\| rootpw --iscrypted \$6\$salt\$hash # \$\{literal\}'
serial_has "boot 1: the up URL (with its token) rendered into %post" \
	'KS\| curl -fsS "http://198\.18\.0\.1/up/inst\?token=[0-9a-f]+"'
serial_has "boot 1: another node's kickstart is refused (403)" 'KS-OTHER refused: .*403'
serial_lacks "boot 1: another node's kickstart is never served" 'KS-OTHER served'
serial_has "boot 1: the up callback was accepted" 'UP-CALLBACK ok'
serial_has "boot 1: the node came up with its host name and address" \
	"NODE-UP hostname=$NODE_HOST ip=$NODE_IP "
pxed_log_has "HTTP: the node's own kickstart served (200)" \
	"http $NODE_IP:[0-9]+ \"GET /ks/inst(\?[^\"]*)?\" 200 "
pxed_log_has "HTTP: the other node's kickstart refused (403)" \
	"http $NODE_IP:[0-9]+ \"GET /ks/other(\?[^\"]*)?\" 403 "
pxed_log_has "HTTP: the up callback" "http $NODE_IP:[0-9]+ \"GET /up/inst(\?[^\"]*)?\" 200 "

# --- /ks from somebody else -----------------------------------------------------------------
TOKEN=$(grep -aoE -m1 'e2e\.ks=http://198\.18\.0\.1/ks/inst\?token=[0-9a-f]+' "$S1" | sed 's/.*token=//')
if lab_client_ns cli 52:54:00:e2:e4:0c 198.18.0.12 >/dev/null; then
	CNS=$LAB_CLIENT_NS
	code() { ip netns exec "$CNS" curl -s -m 10 -o "$T/curl.out" -w '%{http_code}' "$1"; }
	check_eq "client 198.18.0.12: /ks/inst without token refused" 403 \
		"$(code http://198.18.0.1/ks/inst)"
	check_eq "client 198.18.0.12: /ks/inst with a wrong token refused" 403 \
		"$(code 'http://198.18.0.1/ks/inst?token=00000000000000000000000000000000')"
	check_eq "client 198.18.0.12: /ks/other with inst's token refused" 403 \
		"$(code "http://198.18.0.1/ks/other?token=$TOKEN")"
	if [ -n "$TOKEN" ]; then
		check_eq "client 198.18.0.12: /ks/inst with the node's token served" 200 \
			"$(code "http://198.18.0.1/ks/inst?token=$TOKEN")"
		if grep -q "KS-MARKER name=inst " "$T/curl.out"; then
			ok "client 198.18.0.12: that is inst's kickstart"
		else
			not_ok "client 198.18.0.12: that is inst's kickstart" "$(head -n 5 "$T/curl.out")"
		fi
	else
		not_ok "the node's token appears on its kernel command line"
	fi
	pxed_log_has "pxed logs the refused attempts" "http 198\.18\.0\.12:[0-9]+ \"GET /ks/inst\" 403 "
else
	not_ok "a client namespace for curl"
fi

status_has "pxed status: inst's reinstall flag was cleared by the kickstart fetch" "" '^inst +.* no '

# --- boot 2: local boot -----------------------------------------------------------------------
kernels=$(grep -cE "\"GET /vmlinuz\" 200" "$PXED_LOG")
scripts=$(grep -cE "\"GET $SCRIPT_RE\" 200" "$PXED_LOG")
vm_start bios inst2 "$MAC" "${DISK[@]}" || {
	not_ok "QEMU starts (boot 2)"
	finish
}
# iPXE runs the script, which exits; SeaBIOS boots the disk, which says so and powers off.
vm_boot_to "boot 2: iPXE exited and the firmware booted the local disk" 'LOCAL-DISK-BOOT' 120 \
	'NODE-UP|KS-FETCH|Linux version|No bootable device' &&
	{ vm_wait_exit 30 && ok "boot 2: the machine powered off" ||
		not_ok "boot 2: the machine powered off" "QEMU (pid $VM_PID) still runs"; }
vm_stop
serial_has "boot 2: the script told iPXE to boot from the local disk" \
	'pxed: booting from the local disk'
serial_lacks "boot 2: no installer, no kernel" 'KS-FETCH|Linux version|NODE-UP'
check_eq "boot 2: iPXE fetched its script once more" $((scripts + 1)) \
	"$(grep -cE "\"GET $SCRIPT_RE\" 200" "$PXED_LOG")"
check_eq "boot 2: no kernel fetched again" "$kernels" "$(grep -cE "\"GET /vmlinuz\" 200" "$PXED_LOG")"

st=$(pxed_status inst)
note "pxed status inst:"
printf '%s\n' "$st" | sed 's/^/#   /'
status_has "timeline: reinstall requested" inst 'reinstall-requested'
status_has "timeline: DHCP with the script URL" inst "dhcp-ack .*/boot/$MAC\\.ipxe"
status_has "timeline: the iPXE script over HTTP" inst "http-script +$SCRIPT_RE"
status_has "timeline: the kickstart fetched" inst 'kickstart|/ks/inst'
status_has "timeline: reinstall done" inst 'reinstall-done'
status_has "timeline: the up callback" inst '(^| )up( |$)|/up/inst'
finish
