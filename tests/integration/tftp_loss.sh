#!/bin/bash
# 10% random UDP loss in both directions (nftables numgen in the client's namespace; this kernel
# has no netem). pxed runs in its own namespace on 198.18.0.1; the clients in another on
# 198.18.0.2. A file fetched with curl (blksize 1468), atftp (blksize 1468, windowsize 4) and the
# raw client (blksize 1468, windowsize 16) must arrive with the right sha256 within the bound.
#
# Size and time: with 10% loss each way ~19% of lock-step round trips lose a packet, and each
# loss costs one retransmission timeout. pxed measures the round trip (RFC 6298, floor 50 ms), so
# curl's 4 MiB at blksize 1468 (2858 blocks) takes ~40 s; a server that waits the RFC 2349 minimum
# of 1 s per loss would need ~9 minutes (tftpd-hpa does). LOSS_SIZE and LOSS_TIMEOUT override.
. "$(dirname "$0")/lib.sh"

SNS="pxs$$"
CNS="pxc$$"
LOSS_TIMEOUT=${LOSS_TIMEOUT:-180}
LOSS_SIZE=${LOSS_SIZE:-4194304}

command -v nft >/dev/null || { echo "# nft not installed (apt-get install nftables)"; exit 1; }
if ! ip netns add "pxprobe$$" 2>/dev/null; then
	skip_all "network namespaces are not available"
fi
ip netns del "pxprobe$$"

ROOT="$T/root"
OUT="$T/out"
mkdir -p "$ROOT" "$OUT"
gen_file "$ROOT/f4m.bin" $((4 * 1048576))
gen_file "$ROOT/lossy.bin" "$LOSS_SIZE"
WANT=$(sha "$ROOT/lossy.bin")

make_ns_pair "$SNS" "$CNS" || { not_ok "namespaces $SNS/$CNS with a veth pair come up"; finish; }
ok "namespaces $SNS (198.18.0.1) and $CNS (198.18.0.2) are up"
# pxed sends each window as one UDP GSO send; over a veth it would stay one skb up to the
# client's ingress hook, so a "drop" would take the whole window. gso_max_segs 1 makes the server
# side segment in software: the loss rules then see (and drop) single datagrams, as on a wire.
if ip -n "$SNS" link set veth0 gso_max_segs 1 2>/dev/null; then
	note "server veth: gso_max_segs 1 (per-datagram loss)"
else
	note "cannot set gso_max_segs on the veth: windows may be dropped as a whole"
fi

PXED_NETNS=$SNS
PXED_ADDR=198.18.0.1
PORT=69
start_pxed "$ROOT" "$PORT" || { not_ok "pxed starts in $SNS on 198.18.0.1:69"; finish; }
ok "pxed starts in $SNS on 198.18.0.1:69"

# Baseline without loss, so a failure below is about loss and not about the lab.
ip netns exec "$CNS" timeout 30 curl -sS --tftp-blksize 1468 -o "$OUT/base" "tftp://198.18.0.1/f4m.bin" >"$T/c" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(sha "$OUT/base")" = "$(sha "$ROOT/f4m.bin")" ]; then ok "no loss: curl fetches f4m.bin intact across the namespaces"
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

# run_lossy OUTFILE CMD...: run CMD in the client namespace; sets GOOD (1 when OUTFILE has the
# right sha256), SECS, LAST_DROPPED and DETAIL. Reports nothing.
run_lossy() {
	local out=$1 before after t0 rc
	shift
	rm -f "$out"
	before=$(dropped)
	t0=$(date +%s)
	ip netns exec "$CNS" timeout "$LOSS_TIMEOUT" "$@" >"$T/c" 2>&1
	rc=$?
	SECS=$(($(date +%s) - t0))
	after=$(dropped)
	LAST_DROPPED=$((after - before))
	GOOD=0
	[ "$rc" = 0 ] && [ -f "$out" ] && [ "$(sha "$out")" = "$WANT" ] && GOOD=1
	DETAIL="exit $rc after ${SECS}s, $LAST_DROPPED packets dropped"
}

# fetch_lossy LABEL OUTFILE CMD...: one fetch, one check.
fetch_lossy() {
	local label=$1
	shift
	run_lossy "$@"
	if [ "$GOOD" = 1 ]; then
		ok "10% loss: $label fetches lossy.bin ($LOSS_SIZE bytes) intact in ${SECS}s ($LAST_DROPPED packets dropped)"
	else
		not_ok "10% loss: $label fetches lossy.bin ($LOSS_SIZE bytes) intact" "$DETAIL" "$(tail -n 5 "$T/c")"
	fi
}

# curl sends the RFC 2349 timeout option, computed from the time left before the request is
# answered: --connect-timeout 5 makes it ask for "timeout 1" (5 s / 3 tries; with -m alone it
# asks for 5 s, and a conforming server then waits 5 s per lost packet) and gives the request
# 3 tries within 5 s. Its own ACK re-send interval comes from -m: 180 s / 36 = 5 s, so recovery
# is driven by the server's retransmissions.
fetch_lossy "curl --tftp-blksize 1468" "$OUT/curl" \
	curl -sS -m "$LOSS_TIMEOUT" --connect-timeout 5 --tftp-blksize 1468 -o "$OUT/curl" \
	"tftp://198.18.0.1/lossy.bin"
check "the loss rules really dropped packets during the curl fetch" test "${LAST_DROPPED:-0}" -gt 0

# atftp 0.8 aborts on a second OACK ("unexpected OACK", tftp_file.c: oacks > 1), which is what
# a server must send when the client's ACK 0 is lost (RFC 2347). That is a client limitation hit
# in ~10% of runs: only then, start atftp again (at most 3 attempts).
for attempt in 1 2 3; do
	run_lossy "$OUT/atftp" atftp --tftp-timeout 1 --option "blksize 1468" --option "windowsize 4" \
		--option "timeout 1" -g -r lossy.bin -l "$OUT/atftp" 198.18.0.1 69
	if [ "$GOOD" = 1 ]; then
		ok "10% loss: atftp blksize 1468 windowsize 4 fetches lossy.bin ($LOSS_SIZE bytes) intact in ${SECS}s ($LAST_DROPPED packets dropped, attempt $attempt)"
		break
	fi
	if ! grep -q 'unexpected OACK' "$T/c" || [ "$attempt" = 3 ]; then
		not_ok "10% loss: atftp blksize 1468 windowsize 4 fetches lossy.bin ($LOSS_SIZE bytes) intact" \
			"$DETAIL (attempt $attempt)" "$(tail -n 5 "$T/c")"
		break
	fi
	note "atftp attempt $attempt hit its \"unexpected OACK\" limitation (ACK 0 lost); retrying"
done

fetch_lossy "raw client blksize 1468 windowsize 16 timeout 1" "$OUT/raw" \
	python3 "$INTEG_DIR/tftpc.py" get 198.18.0.1 69 lossy.bin --opt blksize=1468 --opt windowsize=16 \
	--opt timeout=1 --timeout 1 --retries 20 --total-timeout "$LOSS_TIMEOUT" --out "$OUT/raw"

# Every fetch left a transfer line. (One whose final ACK was lost is logged as failed although
# the client has everything: the server cannot know; so only the count is checked here.)
# A transfer whose final ACK was lost ends on the server's side a few seconds after the client
# is done: wait for the lines (at most 20 s) before stopping the server.
n=$(log_wait_count '"lossy\.bin": sent [0-9]+ bytes' 3 20)
n_ok=$(log_count '"lossy\.bin": sent [0-9]+ bytes .*: ok$')
if [ "${n:-0}" -ge 3 ]; then ok "log: every lossy.bin fetch has a transfer line ($n, $n_ok ok)"
else not_ok "log: every lossy.bin fetch has a transfer line" "found ${n:-0}"; fi

rc=0
stop_pxed || rc=$?
check_eq "pxed in the namespace exits 0 on SIGTERM" 0 "$rc"
finish
