#!/usr/bin/env bash
# Runs the libFuzzer harnesses built by tests/fuzz/fuzz.mk.
#
#   tests/fuzz/run.sh BUILD MODE SECONDS NAME...
#
# MODE smoke: replays every checked-in seed and regression input of
# tests/fuzz/corpus/NAME once, then fuzzes for SECONDS without keeping
# what it finds. MODE run: fuzzes for SECONDS, keeping new inputs in
# BUILD/corpus/NAME. Either way a crash, leak, sanitizer report, timeout
# (a hang) or broken invariant fails the harness, and its input is left
# as BUILD/crash-NAME-*. The last line is "N passed, N failed".
set -u

build=$1
mode=$2
seconds=$3
shift 3
src=tests/fuzz
passed=0
failed=0

# Per input: 10 s is a hang, 2 GiB a runaway allocation; inputs up to
# 64 KiB reach every limit the harnesses care about.
opts=(-timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for name in "$@"; do
	bin=$build/fuzz_$name
	seeds=$src/corpus/$name
	dict=$src/$name.dict
	work=$build/corpus/$name
	log=$build/fuzz-$name.log
	mkdir -p "$work"
	echo "=== fuzz_$name ($mode, ${seconds}s)"
	ok=1
	if [ "$mode" = smoke ]; then
		# Every seed once: regressions must stay fixed.
		mapfile -t files < <(find "$seeds" -type f | sort)
		if [ "${#files[@]}" -gt 0 ] && ! "$bin" "${opts[@]}" "${files[@]}" > "$log" 2>&1; then
			tail -n 40 "$log"
			ok=0
		fi
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps-fuzz.XXXXXX")
		dirs=("$tmp" "$seeds")
	else
		dirs=("$work" "$seeds")
	fi
	if [ $ok -eq 1 ] && ! "$bin" "${opts[@]}" -dict="$dict" -max_total_time="$seconds" \
		-artifact_prefix="$build/crash-$name-" "${dirs[@]}" > "$log" 2>&1; then
		tail -n 60 "$log"
		ok=0
	fi
	[ "$mode" = smoke ] && rm -rf "$tmp"
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" | tr '\n' ' '
	echo
	if [ $ok -eq 1 ]; then
		echo "fuzz_$name: ok"
		passed=$((passed + 1))
	else
		echo "fuzz_$name: FAILED (log: $log)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
