#!/bin/bash
# Runs the real-firmware tests (tests/e2e/*.sh except lib.sh, run.sh, build-node-image.sh:
# firmware_*.sh, the issue 4 boot scenarios boot_*.sh, the demo lab demo.sh, the NFS probe and
# the issue 5 diskless scenarios diskless_*.sh), one after the
# other, each with a hard time limit. Before them it installs what
# the lab needs, probes once whether KVM works for firmware (else TCG) and builds the node image
# (cached). Prints PASS/FAIL/SKIP per script and a final line
#   e2e: N passed, N failed, N skipped
# Exit status: 0 when nothing failed, 1 otherwise. Skips (exit 77) are never counted as passes.
#
#   PXED=build/pxed bash tests/e2e/run.sh [NAME...]   # NAME: e.g. firmware_bios_ipxe
#   LOGDIR=/tmp/logs ...    keep logs there (default: a new mktemp dir, printed at the end)
#   TEST_TIMEOUT=600        seconds allowed per script
#   E2E_ACCEL=tcg|kvm       skip the KVM probe
#   E2E_CACHE=DIR           node image cache (default /var/cache/pxed-e2e)
set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
if [ -z "${PXED:-}" ]; then
	PXED="$REPO/build/pxed"
fi
case "$PXED" in /*) ;; *) PXED="$(pwd)/$PXED" ;; esac
export PXED
if [ ! -x "$PXED" ]; then
	echo "e2e: PXED=$PXED is not an executable" >&2
	echo "e2e: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
own_logdir=0
[ -z "${LOGDIR:-}" ] && own_logdir=1
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/pxed-e2e.XXXXXX)}
mkdir -p "$LOGDIR"
export LOGDIR
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
E2E_CACHE=${E2E_CACHE:-/var/cache/pxed-e2e}
export E2E_CACHE

scripts=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.sh}
		scripts+=("$DIR/${n##*/}.sh")
	done
else
	for f in "$DIR"/*.sh; do
		case "$(basename "$f")" in lib.sh | run.sh | build-node-image.sh | nfslib.sh | make-template-root.sh) continue ;; esac
		# Drives the iPXE ROM's shell by typing on the serial console: timing-dependent under
		# TCG on a loaded machine (see docs/e2e.md), so only on request: E2E_ALL=1 or by name.
		case "$(basename "$f")" in boot_bios_ipxe_http.sh)
			[ "${E2E_ALL:-0}" = 1 ] || { echo "# not run by default: $(basename "$f") (E2E_ALL=1 runs it)"; continue; } ;;
		esac
		scripts+=("$f")
	done
fi

# Once for all tests: packages, accelerator, node image. A failure here is left to the tests
# (each then reports it, or skips when the machine cannot run the lab at all).
start=$(date +%s)
if accel=$(timeout -k 10 1800 bash "$DIR/lib.sh" --probe 2>"$LOGDIR/setup.log" </dev/null); then
	export E2E_ACCEL=$accel
	if ! node=$(timeout -k 10 1800 bash "$DIR/build-node-image.sh" "$E2E_CACHE" \
		2>>"$LOGDIR/setup.log" </dev/null); then
		node="(failed, see $LOGDIR/setup.log)"
	fi
	echo "# accelerator: $E2E_ACCEL, node image: $node ($(($(date +%s) - start)) s)"
fi

passed=0 failed=0 skipped=0
for f in "${scripts[@]}"; do
	name=$(basename "$f" .sh)
	log="$LOGDIR/$name.log"
	if [ ! -f "$f" ]; then
		echo "FAIL $name (no such script)"
		failed=$((failed + 1))
		continue
	fi
	start=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" bash "$f" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	case "$rc" in
	0)
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
		[ "${KEEP_LOGS:-0}" = 1 ] || rm -f "$log"
		;;
	77)
		echo "SKIP $name: $(grep -m1 '^# SKIP' "$log" | sed 's/^# SKIP [^:]*: //')"
		skipped=$((skipped + 1))
		;;
	*)
		[ "$rc" = 124 ] && echo "# $name: killed after ${TEST_TIMEOUT}s" >>"$log"
		echo "FAIL $name (exit $rc, ${secs}s, log: $log)"
		grep -a '^not ok' "$log" | head -n 20 | sed 's/^/    /'
		grep -a '^#   /' "$log" | head -n 10 | sed 's/^#   /    evidence: /'
		failed=$((failed + 1))
		;;
	esac
done

if [ "$failed" -gt 0 ]; then
	echo "logs of failures: $LOGDIR"
elif [ "$own_logdir" = 1 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then
	rm -f "$LOGDIR/setup.log"
	rmdir "$LOGDIR" 2>/dev/null
fi
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
