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

. "$(dirname "$0")/pytest-lib.sh"
pytest_setup run-net-tests
trap pytest_cleanup EXIT
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

export PS_NET_PREFIX="psnet$$"

cleanup() {
	pytest_cleanup
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
trap cleanup EXIT
pytest_run net "${PS_TEST_TIMEOUT:-300}" . "$@"
