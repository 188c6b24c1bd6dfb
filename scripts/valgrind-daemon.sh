#!/usr/bin/env bash
# The daemon under valgrind's memcheck, for `make valgrind`: the tests
# start it as PS_DAEMON with the daemon's own arguments. Any memory error,
# or memory still reachable only through a leak, makes it exit 99, which
# the tests' clean-stop check reports.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-fds=no \
	"${PS_VALGRIND_DAEMON:-build/procshared}" "$@"
