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

. "$(dirname "$0")/pytest-lib.sh"
pytest_setup run-python-tests
trap pytest_cleanup EXIT
cd "$srcdir/bindings/python" || exit 2
pytest_run python "${PS_TEST_TIMEOUT:-900}" tests "$@"
