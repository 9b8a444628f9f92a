#!/bin/bash
# Runs every integration test script (tests/integration/*.sh except *lib.sh and run.sh), one after
# the other, each with a hard time limit. Prints PASS/FAIL/SKIP per script and a final line
#   integration: N passed, N failed, N skipped
# Exit status: 0 when nothing failed, 1 otherwise. Skips (exit 77) are never counted as passes.
#
#   PXED=build/pxed bash tests/integration/run.sh [NAME...]   # NAME: e.g. tftp_loss
#   LOGDIR=/tmp/logs ...   keep logs there (default: a new mktemp dir, printed at the end)
#   TEST_TIMEOUT=600       seconds allowed per script
set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
if [ -z "${PXED:-}" ]; then
	PXED="$REPO/build/pxed"
fi
case "$PXED" in /*) ;; *) PXED="$(pwd)/$PXED" ;; esac
export PXED
if [ ! -x "$PXED" ]; then
	echo "integration: PXED=$PXED is not an executable" >&2
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
# One subdirectory per binary, so a gcc pass and an ASan pass into the same $LOGDIR keep both.
LOGBASE=${LOGDIR:-$(mktemp -d /tmp/pxed-integration.XXXXXX)}
LOGDIR="$LOGBASE/integration-$(basename "$(dirname "$PXED")")"
mkdir -p "$LOGDIR"
export LOGDIR
TEST_TIMEOUT=${TEST_TIMEOUT:-600}

scripts=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.sh}
		scripts+=("$DIR/${n#tests/integration/}.sh")
	done
else
	for f in "$DIR"/*.sh; do
		case "$(basename "$f")" in *lib.sh | run.sh) continue ;; esac
		scripts+=("$f")
	done
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
		failed=$((failed + 1))
		;;
	esac
done

[ "$failed" -gt 0 ] && echo "logs of failures: $LOGDIR"
rmdir "$LOGDIR" "$LOGBASE" 2>/dev/null # only when empty (nothing failed or skipped)
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
