# Shared by run-python-tests.sh and run-net-tests.sh (sourced, not run):
# finding a Python that has msgpack and pytest, the environment the tests
# get, and turning pytest's summary into the "LABEL: N passed, N failed"
# line scripts/check.sh adds up.

# pytest_setup NAME: sets srcdir, build (absolute) and python (the first of
# $PYTHON, /usr/bin/python3, python3 on PATH that can import msgpack and
# pytest), exports what every test gets, and makes pytest_out, a temporary
# file for pytest's output (pytest_cleanup removes it). Exits 2 with the
# reason when there is no such Python or no daemon.
pytest_setup() {
	local name=$1 candidate
	srcdir=$(cd "$(dirname "$0")/.." && pwd)
	build=${BUILD:-build}
	case $build in
	/*) ;;
	*) build=$srcdir/$build ;;
	esac
	python=${PYTHON:-}
	if [ -z "$python" ]; then
		for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
			if [ -n "$candidate" ] && [ -x "$candidate" ] && pytest_usable "$candidate"; then
				python=$candidate
				break
			fi
		done
	fi
	if [ -z "$python" ] || ! pytest_usable "$python"; then
		echo "$name: no Python 3 with msgpack and pytest found" >&2
		echo "install them: apt-get install python3-msgpack python3-pytest (or set PYTHON)" >&2
		exit 2
	fi
	if [ ! -x "$build/procshared" ]; then
		echo "$name: $build/procshared is not built (run make first)" >&2
		exit 2
	fi
	export PROCSHARE_DAEMON="$build/procshared"
	export PS_BUILD="$build"
	# The tests must not leave caches in the source tree.
	export PYTHONDONTWRITEBYTECODE=1
	# Sanitizer builds: the daemon's reports go to its stderr and fail it.
	export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	pytest_out=$(mktemp "${TMPDIR:-/tmp}/ps-pytest.XXXXXX") || exit 2
}

pytest_usable() {
	"$1" -c 'import msgpack, pytest' >/dev/null 2>&1
}

pytest_cleanup() {
	rm -f "$pytest_out"
}

# pytest_run LABEL SECONDS ARGS...: runs pytest with ARGS in the current
# directory for at most SECONDS, then prints "LABEL: N passed, N failed"
# (errors count as failed, skips as neither) and pytest's own summary line
# again, last. Returns pytest's exit status.
pytest_run() {
	local label=$1 seconds=$2 status summary passed failed
	shift 2
	timeout -k 10 "$seconds" "$python" -m pytest -p no:cacheprovider -ra "$@" 2>&1 | tee "$pytest_out"
	status=${PIPESTATUS[0]}
	# "=== 1 failed, 6 passed, 2 skipped in 20.1s ===" (no rules under -q).
	summary=$(grep -E ' in [0-9.]+s( =+)?$' "$pytest_out" |
		grep -E 'passed|failed|error|skipped|no tests ran' | tail -n 1)
	passed=$(pytest_number passed "$summary")
	failed=$(( $(pytest_number failed "$summary") + $(pytest_number error "$summary") ))
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# pytest crashed, timed out, ran no test, or failed in a way it
		# did not count as a test: one failure.
		failed=1
	fi
	echo "$label: $passed passed, $failed failed"
	[ -n "$summary" ] && echo "$summary"
	return "$status"
}

pytest_number() {
	grep -oE "[0-9]+ $1" <<< "$2" | grep -oE '[0-9]+' || echo 0
}
