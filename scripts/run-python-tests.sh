#!/usr/bin/env bash
# Runs the Python client's tests (pytest) against a build's procshared and
# libprocshare.
#
#   scripts/run-python-tests.sh [PYTEST ARGUMENTS...]
#
# Environment:
#   BUILD             build directory holding procshared (default: build)
#   PYTHON            the interpreter to use; default: the first of
#                     /usr/bin/python3 and python3 on PATH that can import
#                     both msgpack and pytest
#   PS_TEST_TIMEOUT   seconds the whole run may take (default 900)
#
# Exported to the tests: PROCSHARE_DAEMON (the daemon every procshare
# Manager() starts), PS_BUILD (where the C library is, for the C/Python
# interoperation tests). The tests print the interpreter they run on in
# pytest's header. After pytest's output comes "python: N passed, N failed"
# (errors count as failed; scripts/check.sh adds these up), then pytest's own
# summary line again, last. The exit status is pytest's.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in
/*) ;;
*) build=$srcdir/$build ;;
esac

usable() {
	"$1" -c 'import msgpack, pytest' >/dev/null 2>&1
}

python=${PYTHON:-}
if [ -z "$python" ]; then
	for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
		if [ -n "$candidate" ] && [ -x "$candidate" ] && usable "$candidate"; then
			python=$candidate
			break
		fi
	done
fi
if [ -z "$python" ] || ! usable "$python"; then
	echo "run-python-tests: no Python 3 with msgpack and pytest found" >&2
	echo "install them: apt-get install python3-msgpack python3-pytest (or set PYTHON)" >&2
	exit 2
fi
if [ ! -x "$build/procshared" ]; then
	echo "run-python-tests: $build/procshared is not built (run make first)" >&2
	exit 2
fi

export PROCSHARE_DAEMON="$build/procshared"
export PS_BUILD="$build"
# The tests must not leave caches in the source tree.
export PYTHONDONTWRITEBYTECODE=1
# Sanitizer builds: the daemon's reports go to its stderr and fail it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

cd "$srcdir/bindings/python" || exit 2
out=$(mktemp "${TMPDIR:-/tmp}/ps-pytest.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT
timeout -k 10 "${PS_TEST_TIMEOUT:-900}" "$python" -m pytest -p no:cacheprovider -ra \
	tests "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

# pytest's summary: "=== 3 failed, 370 passed, 1 error in 20.1s ===" (or
# without the rules under -q).
summary=$(grep -E ' in [0-9.]+s( =+)?$' "$out" | grep -E 'passed|failed|error|no tests ran' |
	tail -n 1)
number() {
	grep -oE "[0-9]+ $1" <<< "$summary" | grep -oE '[0-9]+' || echo 0
}
passed=$(number passed)
failed=$(( $(number failed) + $(number error) ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# pytest crashed, timed out, ran no test, or failed in a way it did not
	# count as a test: one failure.
	failed=1
fi
echo "python: $passed passed, $failed failed"
[ -n "$summary" ] && echo "$summary"
exit "$status"
