#!/bin/bash
# 10% random UDP loss in both directions (nftables numgen in the client's namespace; this kernel
# has no netem). pxed runs in its own namespace on 198.18.0.1; the clients in another on
# 198.18.0.2. A 4 MiB file fetched with curl (blksize 1468), atftp (blksize 1468, windowsize 4)
# and the raw client must arrive with the right sha256 within the time bound.
. "$(dirname "$0")/lib.sh"

SNS="pxs$$"
CNS="pxc$$"
LOSS_TIMEOUT=${LOSS_TIMEOUT:-180}

command -v nft >/dev/null || { echo "# nft not installed (apt-get install nftables)"; exit 1; }
if ! ip netns add "pxprobe$$" 2>/dev/null; then
	skip_all "network namespaces are not available"
fi
ip netns del "pxprobe$$"

ROOT="$T/root"
OUT="$T/out"
mkdir -p "$ROOT" "$OUT"
gen_file "$ROOT/f4m.bin" $((4 * 1048576))
gen_file "$ROOT/f256k.bin" 262144
WANT=$(sha "$ROOT/f4m.bin")

make_ns_pair "$SNS" "$CNS" || { not_ok "namespaces $SNS/$CNS with a veth pair come up"; finish; }
ok "namespaces $SNS (198.18.0.1) and $CNS (198.18.0.2) are up"

PXED_NETNS=$SNS
PXED_ADDR=198.18.0.1
PORT=69
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts in $SNS on 198.18.0.1:69"; finish; }
ok "pxed starts in $SNS on 198.18.0.1:69"

# Baseline without loss, so a failure below is about loss and not about the lab.
ip netns exec "$CNS" timeout 30 curl -sS --tftp-blksize 1468 -o "$OUT/base" "tftp://198.18.0.1/f4m.bin" >"$T/c" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(sha "$OUT/base")" = "$WANT" ]; then ok "no loss: curl fetches f4m.bin intact across the namespaces"
else not_ok "no loss: curl fetches f4m.bin intact across the namespaces" "exit $rc" "$(cat "$T/c")"; fi

# Drop at the client's veth (netdev ingress/egress): like loss on the wire, invisible to the
# sockets. (An inet "output" hook drop makes the sender's sendto() fail with EPERM, which curl
# treats as fatal, error 55: not what a lossy network does.) Fallback for kernels without the
# egress hook: drop on the input hooks of both namespaces.
if ! ip netns exec "$CNS" nft -f - 2>"$T/nft.err" <<'EOF'
table netdev loss {
	chain in {
		type filter hook ingress device veth0 priority 0;
		meta l4proto udp numgen random mod 10 < 1 counter drop
	}
	chain out {
		type filter hook egress device veth0 priority 0;
		meta l4proto udp numgen random mod 10 < 1 counter drop
	}
}
EOF
then
	note "netdev egress hook unavailable ($(head -n 1 "$T/nft.err")): input hooks on both sides"
	LOSS_TABLE="inet loss"
	for ns in "$CNS" "$SNS"; do
		ip netns exec "$ns" nft -f - <<'EOF' || skip_all "nftables numgen is not usable in a namespace"
table inet loss {
	chain in {
		type filter hook input priority 0;
		meta l4proto udp numgen random mod 10 < 1 counter drop
	}
}
EOF
	done
else
	LOSS_TABLE="netdev loss"
fi
ok "10% UDP loss installed on the client side (both directions, $LOSS_TABLE)"

# dropped: packets the loss rules have dropped so far (both chains).
dropped() {
	local ns
	for ns in "$CNS" "$SNS"; do
		ip netns exec "$ns" nft list table $LOSS_TABLE 2>/dev/null
	done | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}

# fetch_lossy LABEL OUTFILE CMD...: run CMD in the client namespace, check the sha256.
fetch_lossy() {
	local label=$1 out=$2 before after t0 secs rc
	shift 2
	rm -f "$out"
	before=$(dropped)
	t0=$(date +%s)
	ip netns exec "$CNS" timeout "$LOSS_TIMEOUT" "$@" >"$T/c" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	after=$(dropped)
	if [ "$rc" = 0 ] && [ -f "$out" ] && [ "$(sha "$out")" = "$WANT" ]; then
		ok "10% loss: $label fetches f4m.bin intact in ${secs}s ($((after - before)) packets dropped)"
	else
		not_ok "10% loss: $label fetches f4m.bin intact" \
			"exit $rc after ${secs}s, $((after - before)) packets dropped" "$(tail -n 5 "$T/c")"
	fi
	LAST_DROPPED=$((after - before))
}

# curl retransmits on its own timeout, which it derives from the transfer time left (-m):
# retry_time = max-time / min(max(max-time/5, 3), 50) = 180 / 36 = 5 s.
fetch_lossy "curl --tftp-blksize 1468" "$OUT/curl" \
	curl -sS -m "$LOSS_TIMEOUT" --tftp-blksize 1468 -o "$OUT/curl" "tftp://198.18.0.1/f4m.bin"
check "the loss rules really dropped packets during the curl fetch" test "${LAST_DROPPED:-0}" -gt 0

fetch_lossy "atftp blksize 1468 windowsize 4" "$OUT/atftp" \
	atftp --option "blksize 1468" --option "windowsize 4" --option "timeout 1" \
	-g -r f4m.bin -l "$OUT/atftp" 198.18.0.1 69

fetch_lossy "raw client blksize 1468 windowsize 16 timeout 1" "$OUT/raw" \
	python3 "$INTEG_DIR/tftpc.py" get 198.18.0.1 69 f4m.bin --opt blksize=1468 --opt windowsize=16 \
	--opt timeout=1 --timeout 1 --retries 20 --total-timeout "$LOSS_TIMEOUT" --out "$OUT/raw"

# Failed transfers under loss are logged as such, completed ones as ok.
n=$(grep -acE '"f4m\.bin".*: ok' "$PXED_LOG")
if [ "${n:-0}" -ge 4 ]; then ok "log: the four f4m.bin transfers are logged as ok ($n)"
else not_ok "log: the four f4m.bin transfers are logged as ok" "found $n"; fi

rc=0
stop_pxed || rc=$?
check_eq "pxed in the namespace exits 0 on SIGTERM" 0 "$rc"
finish
