#!/usr/bin/env bash
# Run every test: builds with gcc and clang (-Werror), unit tests + fuzz-corpus replay in each,
# the same again under ASan+UBSan, the integration tests against real clients (gcc build and
# ASan build), and the clang-format check. Ends with "N passed, N failed".
# Usage (as root): bash tools/test.sh [--quick]   (--quick: skip the ASan integration pass)
set -u
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tools/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
failures=""
LOGDIR=$(mktemp -d /tmp/pxed-test.XXXXXX)
export LOGDIR

record() { # name status(0=pass) 
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $1"
	fi
}

# Count meson's per-test results from its JSON log.
count_meson() { # builddir label
	local res
	res=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
names = []
for line in open(sys.argv[1]):
    t = json.loads(line)
    r = t.get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
        names.append(t.get("name"))
print(p, f, s, ",".join(names) or "-")
PY
)
	set -- $res "$2"
	passed=$((passed + $1))
	failed=$((failed + $2))
	[ "$2" != 0 ] && failures="$failures $5:$4"
	echo "== $5: $1 passed, $2 failed, $3 skipped"
}

for flavour in gcc clang asan; do
	dir=build; [ $flavour = clang ] && dir=build-clang; [ $flavour = asan ] && dir=build-asan
	echo "== build ($flavour)"
	if bash tools/build.sh $flavour >"$LOGDIR/build-$flavour.log" 2>&1; then
		record "build-$flavour" 0
		meson test -C $dir --no-rebuild --print-errorlogs >"$LOGDIR/unit-$flavour.log" 2>&1
		count_meson $dir "unit+fuzz-replay ($flavour)"
	else
		cat "$LOGDIR/build-$flavour.log" | tail -30
		record "build-$flavour" 1
	fi
done

echo "== clang-format"
bad=""
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]'); do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
[ -n "$bad" ] && echo "clang-format disagrees with:$bad"
record clang-format "$([ -z "$bad" ] && echo 0 || echo 1)"

run_integration() { # pxed-binary label
	local out
	out=$(PXED="$1" bash tests/integration/run.sh 2>&1 | tee "$LOGDIR/integration-$2.log" | tail -200)
	echo "$out" | grep -E '^(PASS|FAIL|SKIP) ' || true
	local line
	line=$(echo "$out" | grep -E '^integration: ' | tail -1)
	local p f
	p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	if [ -z "$p" ]; then
		echo "integration ($2): no summary line"
		record "integration-$2" 1
		return
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" != 0 ] && failures="$failures integration-$2"
	echo "== integration ($2): $line"
}

if [ -x build/pxed ] && [ -f tests/integration/run.sh ]; then
	run_integration build/pxed gcc
	if [ $quick = 0 ] && [ -x build-asan/pxed ]; then
		run_integration build-asan/pxed asan
	fi
fi

# Real firmware in QEMU (one pass, with the gcc build): slow under TCG, so not repeated under
# ASan.
if [ -x build/pxed ] && [ -f tests/e2e/run.sh ]; then
	out=$(PXED=build/pxed bash tests/e2e/run.sh 2>&1 | tee "$LOGDIR/e2e.log" | tail -200)
	echo "$out" | grep -E '^(PASS|FAIL|SKIP) ' || true
	line=$(echo "$out" | grep -E '^e2e: ' | tail -1)
	p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	if [ -z "$p" ]; then
		echo "e2e: no summary line"
		record e2e 1
	else
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" != 0 ] && failures="$failures e2e"
		echo "== e2e: $line"
	fi
fi

echo "logs: $LOGDIR"
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
