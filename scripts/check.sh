#!/usr/bin/env bash
# Everything `make check` (and CI) runs: install missing packages, build,
# run the whole suite with the normal build, again with ASan+UBSan, then the
# Python client's tests. Every part runs even when an earlier one fails; the
# last line adds them all up.
set -u
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1
total_pass=0
total_fail=0
log=$(mktemp "${TMPDIR:-/tmp}/ps-check.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT

# Adds the counts from the last "N passed, N failed" line of $log.
count() {
	local line p f
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "check: $1 printed no summary" >&2
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/' <<< "$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<< "$line")
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

suite() {
	local name=$1
	shift
	echo "##### $name"
	if ! "$@" 2>&1 | tee "$log"; then
		# A build failure leaves no summary; count it once.
		grep -qE '[0-9]+ passed, [0-9]+ failed' "$log" || echo "0 passed, 1 failed" >> "$log"
	fi
	count "$name"
}

suite "plain build" make --no-print-directory test
suite "ASan+UBSan build" make --no-print-directory SANITIZE=1 test
suite "fuzz smoke (libFuzzer)" make --no-print-directory fuzz-smoke
if [ -x scripts/run-python-tests.sh ]; then
	suite "Python client" scripts/run-python-tests.sh
fi
suite "network namespaces" scripts/run-net-tests.sh
echo
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
