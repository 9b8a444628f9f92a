#!/bin/bash
# Crash safety of the lease store (issue 3, "Crash safety"): pxed serves DHCP under perfdhcp load
# in a namespace; a sniffer on the client side of the veth pair records every DHCPACK that
# actually reached the client (bench/dhcp-acks.py); pxed is killed with SIGKILL at a random
# moment (0.2-2 s after the round's first ACK) and restarted on the same state dir, ROUNDS
# times. After every kill, every ACK captured so far (chaddr -> yiaddr) must be a lease of that
# MAC in the store (`pxed leases --all --json`), in state bound or a later one.
#
# A SIGKILL loses what the process had not yet handed to the kernel, so this checks that pxed
# sends no ACK before its lease is committed; fsync itself (power loss) needs a VM and is not
# tested here.
#
#   PXED=build/pxed bash tests/integration/dhcp_crash.sh
#   CRASH_ROUNDS=10 CRASH_RATE=2000   rounds and perfdhcp's exchange rate (per second)
#
# Needs: perfdhcp (Debian package kea-admin), python3, iproute2.
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-10}
RATE=${CRASH_RATE:-2000}
ACKS_PY="$REPO_DIR/bench/dhcp-acks.py"

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || skip_all "no network namespace support"
if ! command -v perfdhcp >/dev/null 2>&1; then
	not_ok "perfdhcp is installed" "install the Debian package kea-admin (tools/deps.sh test)"
	finish
fi
[ -f "$ACKS_PY" ] || {
	not_ok "bench/dhcp-acks.py exists"
	finish
}

SNS=pxcs$$
CNS=pxcc$$
make_ns_pair "$SNS" "$CNS" || {
	not_ok "namespaces $SNS/$CNS with a veth pair"
	finish
}
PXED_NETNS=$SNS
STATE=$T/state
mkdir -p "$STATE"
ACKS=$T/acks.txt

# The client-side capture, started before any load and kept for every round.
ip netns exec "$CNS" python3 "$ACKS_PY" veth0 "$ACKS" 2>"$T/acks.err" &
SNIFF_PID=$!
register_pid "$SNIFF_PID"
for _ in $(seq 1 50); do
	grep -q '^# ready' "$ACKS" 2>/dev/null && break
	sleep 0.1
done
if ! grep -q '^# ready' "$ACKS" 2>/dev/null; then
	not_ok "ACK sniffer started on the client's veth0" "$(cat "$T/acks.err" 2>/dev/null)"
	finish
fi

start_dhcp() {
	_start_server 67 serve -o dhcp.mode=server -o tftp.enabled=no \
		-o "server.state-dir=$STATE" -o server.log-level=warning \
		-o subnet.b.network=198.18.0.0/16 -o "subnet.b.range=198.18.1.0 198.18.255.254"
}

n_acks() { grep -c '^ack ' "$ACKS" 2>/dev/null || true; }

# check_store LABEL: every captured ACK is a lease of its MAC with that address, state bound or
# later. Prints "checked=N missing=M" and up to 10 offending lines; exit 0 when none is missing.
check_store() {
	"$PXED" leases --all --json -o "server.state-dir=$STATE" >"$T/leases.json" 2>"$T/leases.err" ||
		return 2
	python3 - "$ACKS" "$T/leases.json" <<'PY'
import json, sys
acks = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 3 and f[0] == "ack":
        acks[f[1]] = f[2]  # last ACK per client; perfdhcp clients are unique per round
rows = json.load(open(sys.argv[2]))
have = {}
for r in rows:
    have.setdefault(r["mac"], []).append((r["ip"], r["state"]))
ok_states = {"bound", "released", "expired", "declined"}
bad = []
for mac, ip in acks.items():
    got = have.get(mac, [])
    if not any(i == ip and s in ok_states for i, s in got):
        bad.append("ACK %s -> %s seen by the client; store has %s" % (mac, ip, got or "nothing"))
print("checked=%d missing=%d leases=%d" % (len(acks), len(bad), len(rows)))
for b in bad[:10]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

round_fail=0
total_before=0
for round in $(seq 1 "$ROUNDS"); do
	if ! start_dhcp; then
		not_ok "round $round: pxed restarts on the state dir after kill -9"
		round_fail=1
		break
	fi
	# Clients of this round: MACs 02:00:RR:xx:xx:xx, new in every round.
	base=$(printf '02:00:%02x:00:00:00' "$round")
	ip netns exec "$CNS" perfdhcp -4 -g single -r "$RATE" -R 60000 -b "mac=$base" -p 20 \
		198.18.0.1 >"$T/perfdhcp.$round.log" 2>&1 &
	PD_PID=$!
	register_pid "$PD_PID"
	# Wait (max 5 s) for this round's first ACK at the client, then a random 0.2-2 s more.
	for _ in $(seq 1 50); do
		[ "$(n_acks)" -gt "$total_before" ] && break
		sleep 0.1
	done
	delay_ms=$((200 + RANDOM % 1801))
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -KILL "$PXED_PID" 2>/dev/null
	wait "$PXED_PID" 2>/dev/null
	sleep 0.3 # ACKs already on the wire reach the sniffer
	kill -INT "$PD_PID" 2>/dev/null
	for _ in $(seq 1 50); do
		alive "$PD_PID" || break
		sleep 0.1
	done
	kill -KILL "$PD_PID" 2>/dev/null
	wait "$PD_PID" 2>/dev/null

	total=$(n_acks)
	new=$((total - total_before))
	out=$(check_store)
	rc=$?
	summary=$(printf '%s\n' "$out" | head -n 1)
	if [ "$new" -gt 0 ] && [ "$rc" = 0 ]; then
		ok "round $round: kill -9 after ${delay_ms} ms; $new new ACKs seen by clients," \
			"all $total in the store ($summary)"
	elif [ "$new" -le 0 ]; then
		not_ok "round $round: the client saw ACKs before the kill" "no new ACK captured" \
			"$(tail -n 20 "$T/perfdhcp.$round.log")"
		round_fail=1
	else
		not_ok "round $round: every ACK a client saw is in the store after kill -9 (${delay_ms} ms)" \
			"$out" "$(cat "$T/leases.err" 2>/dev/null)"
		round_fail=1
	fi
	total_before=$total
done

note "rounds=$ROUNDS rate=$RATE/s acks-captured=$(n_acks)"
if [ "$round_fail" = 0 ]; then
	# A final restart loads every lease and serves again.
	if start_dhcp; then
		ok "pxed starts again on the state dir after $ROUNDS kills"
		stop_pxed
	else
		not_ok "pxed starts again on the state dir after $ROUNDS kills"
	fi
fi
kill -TERM "$SNIFF_PID" 2>/dev/null
wait "$SNIFF_PID" 2>/dev/null
tail -n 1 "$ACKS" | grep '^#' | sed 's/^# /# sniffer: /'
finish
