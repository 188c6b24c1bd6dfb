#!/usr/bin/env bash
# Runs cmocka test binaries and sums up their results.
#
#   scripts/run-tests.sh BINARY...
#
# Environment:
#   BUILD             build directory holding procshared (default: build)
#   PS_TEST_PREFIX    command put before each binary, e.g. "valgrind -q
#                     --error-exitcode=99" (hiredis' TEST_PREFIX)
#   PS_TEST_TIMEOUT   seconds one binary may run before it is killed
#                     (default 600)
#
# Exported to the tests: PS_DAEMON (the daemon to start), PS_SRCDIR (the
# source tree, for proto/vectors). Every binary runs even when an earlier
# one fails. The last line is "N passed, N failed"; the exit status is
# non-zero when any test failed or any binary crashed, timed out or
# exited non-zero.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in
/*) ;;
*) build=$srcdir/$build ;;
esac
export PS_SRCDIR="$srcdir"
export PS_DAEMON="${PS_DAEMON:-$build/procshared}"
# Sanitizer builds: stop at the first report, with a stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

timeout_s=${PS_TEST_TIMEOUT:-600}
read -r -a prefix <<< "${PS_TEST_PREFIX:-}"

out=$(mktemp "${TMPDIR:-/tmp}/ps-run-tests.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT

passed=0
failed=0
bad_binaries=()
start=$(date +%s)

for bin in "$@"; do
	name=$(basename "$bin")
	echo "=== $name"
	if [ ! -x "$bin" ]; then
		echo "$name: not found or not executable"
		failed=$((failed + 1))
		bad_binaries+=("$name (missing)")
		continue
	fi
	timeout -k 10 "$timeout_s" "${prefix[@]}" "$bin" > "$out" 2>&1
	status=$?
	cat "$out"

	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*/\1/p' "$out" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	# Tests whose setup or teardown failed (e.g. the daemon did not exit
	# cleanly) are reported as "[  ERROR   ] name", outside both counts.
	e=$(grep -c '^\[  ERROR   \] [^-]' "$out")
	f=$((f + e))
	passed=$((passed + p))
	failed=$((failed + f))

	if [ "$status" -ne 0 ]; then
		why="exit status $status"
		[ "$status" -eq 124 ] && why="timed out after ${timeout_s}s"
		[ "$status" -gt 128 ] && [ "$status" -ne 124 ] && why="killed by signal $((status - 128))"
		# A crash, a failed group setup or a sanitizer report: count it
		# when cmocka did not already count a failure.
		if [ "$f" -eq 0 ]; then
			failed=$((failed + 1))
		fi
		bad_binaries+=("$name ($why)")
	elif [ "$f" -ne 0 ]; then
		bad_binaries+=("$name")
	elif [ "$p" -eq 0 ]; then
		echo "$name: no cmocka summary found"
		failed=$((failed + 1))
		bad_binaries+=("$name (no summary)")
	fi
done

end=$(date +%s)
echo
if [ "${#bad_binaries[@]}" -gt 0 ]; then
	echo "Failing binaries:"
	for b in "${bad_binaries[@]}"; do
		echo "  $b"
	done
fi
echo "$# binaries in $((end - start))s"
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "${#bad_binaries[@]}" -ne 0 ]; then
	exit 1
fi
exit 0
