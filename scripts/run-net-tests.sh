#!/usr/bin/env bash
# Runs the network tests (tests/net, pytest): procshared and its C and
# Python clients in network namespaces joined by veth links, a link cut
# under a lock holder, and tcpdump captures of encrypted and plaintext
# sessions. Needs root, iproute2 and tcpdump; without them the tests are
# reported as skipped, with the reason.
#
#   scripts/run-net-tests.sh [PYTEST ARGUMENTS...]
#
# Environment:
#   BUILD             build directory holding procshared (default: build);
#                     its tests/net/netclient is built here with make
#   PYTHON            the interpreter to use; default: the first of
#                     /usr/bin/python3 and python3 on PATH that can import
#                     both msgpack and pytest
#   PS_TEST_TIMEOUT   seconds the whole run may take (default 300)
#
# Exported to the tests: PROCSHARE_DAEMON, PS_BUILD, and PS_NET_PREFIX (the
# names of the namespaces the tests make start with it; any left over by a
# killed run are removed at the end). After pytest's output comes
# "net: N passed, N failed" (errors count as failed, skips as neither;
# scripts/check.sh adds these up), then pytest's own summary line again,
# last. The exit status is pytest's.
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
	echo "run-net-tests: no Python 3 with msgpack and pytest found" >&2
	echo "install them: apt-get install python3-msgpack python3-pytest (or set PYTHON)" >&2
	exit 2
fi
if [ ! -x "$build/procshared" ] || [ ! -x "$build/procshare" ]; then
	echo "run-net-tests: $build/procshared and procshare are not built (run make first)" >&2
	exit 2
fi
# The C client of the tests, built like the build it runs against (named
# as the Makefile names its targets: relative to the source tree).
mkbuild=${build#"$srcdir"/}
make_args=(--no-print-directory -C "$srcdir" BUILD="$mkbuild")
[ "$(basename "$build")" = build-san ] && make_args+=(SANITIZE=1)
if ! make "${make_args[@]}" "$mkbuild/tests/net/netclient" >/dev/null; then
	echo "run-net-tests: building $build/tests/net/netclient failed" >&2
	exit 2
fi

export PROCSHARE_DAEMON="$build/procshared"
export PS_BUILD="$build"
export PS_NET_PREFIX="psnet$$"
# The tests must not leave caches in the source tree.
export PYTHONDONTWRITEBYTECODE=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

cleanup() {
	rm -f "$out"
	# Each test deletes its namespaces; these are a killed run's.
	if command -v ip >/dev/null 2>&1; then
		ip netns list 2>/dev/null | awk -v p="$PS_NET_PREFIX-" 'index($1, p) == 1 { print $1 }' |
			while read -r ns; do
				ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
				ip netns del "$ns" && echo "run-net-tests: removed leftover namespace $ns" >&2
			done
	fi
}

cd "$srcdir/tests/net" || exit 2
out=$(mktemp "${TMPDIR:-/tmp}/ps-nettest.XXXXXX") || exit 2
trap cleanup EXIT
timeout -k 10 "${PS_TEST_TIMEOUT:-300}" "$python" -m pytest -p no:cacheprovider -ra \
	. "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

# pytest's summary: "=== 1 failed, 6 passed, 2 skipped in 20.1s ===" (or
# without the rules under -q).
summary=$(grep -E ' in [0-9.]+s( =+)?$' "$out" |
	grep -E 'passed|failed|error|skipped|no tests ran' | tail -n 1)
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
echo "net: $passed passed, $failed failed"
[ -n "$summary" ] && echo "$summary"
exit "$status"
