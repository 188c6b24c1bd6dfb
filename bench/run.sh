#!/usr/bin/env bash
# `make bench`: procshare, Python's multiprocessing SyncManager and Redis on
# the same workloads, in one run, on this machine. Every figure is the
# median of BENCH_ROUNDS rounds (default 3), with min and max. Within a
# round, the three systems are measured configuration by configuration
# (all of one connection count and depth, then the next), in an order that
# alternates from round to round, so that a noisy neighbour hurts all
# three alike. Then procshare's encrypted path is measured next to its
# plaintext path (Unix socket and TCP loopback). Results, the machine's
# description and a chart go to bench/results/<UTC date>/ (and
# bench/results/latest).
#
# Environment:
#   BUILD            build directory with procshared and bench/loadgen (build)
#   BENCH_ROUNDS     rounds per figure (3)
#   BENCH_SECS       seconds per throughput measurement (1.5)
#   BENCH_FILL       entries of the memory benchmark (1000000)
#   BENCH_IDLE       connections of the connection benchmark (10000)
#   BENCH_QUICK=1    one short round of everything (a smoke run, not results)
#   BENCH_NO_INSTALL=1  never apt-get the optional tools
#   BENCH_NICE=0     do not raise the priority of what is measured (as root
#                    it runs at nice -10, all three systems alike)
#   BENCH_PIN=0      do not run one-connection measurements with client and
#                    server on one CPU (see place() below)
#
# Redis (redis-server, redis-benchmark, redis-cli), python3 and gnuplot are
# optional: as root the script installs Debian's packages; otherwise it
# prints the apt-get line and measures what it can.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-1.5}
FILL=${BENCH_FILL:-1000000}
IDLE=${BENCH_IDLE:-10000}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=1 SECS=0.3 FILL=${BENCH_FILL:-100000} IDLE=${BENCH_IDLE:-1000}
fi
DAEMON=$BUILD/procshared
LOADGEN=$BUILD/bench/loadgen
stamp=$(date -u +%Y%m%dT%H%M%SZ)
OUT=bench/results/$stamp
RAW=$OUT/raw.txt
tmp=$(mktemp -d /tmp/procshare-bench.XXXXXX)
ps_pid= redis_pid=

say() { printf '%s\n' "$*" >&2; }

cleanup() {
	[ -n "$ps_pid" ] && kill "$ps_pid" 2>/dev/null && wait "$ps_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools ----

have() { command -v "$1" >/dev/null 2>&1; }

ensure_tools() {
	local pkgs=""
	have redis-server || pkgs="$pkgs redis-server"
	have redis-benchmark || pkgs="$pkgs redis-tools"
	have python3 || pkgs="$pkgs python3"
	have gnuplot || pkgs="$pkgs gnuplot-nox"
	[ -z "$pkgs" ] && return
	if [ "$(id -u)" = 0 ] && have apt-get && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
		say "bench: installing$pkgs"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >"$tmp/apt.log" 2>&1 &&
		   ! { apt-get update -q >/dev/null 2>&1 &&
		       DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >"$tmp/apt.log" 2>&1; }; then
			say "bench: apt-get install$pkgs failed; measuring without them:"
			tail -3 "$tmp/apt.log" >&2
		fi
	else
		say "bench: missing tools; to install them: sudo apt-get install -y$pkgs"
	fi
}

ensure_tools
HAVE_REDIS=0 HAVE_PY=0 HAVE_PLOT=0
have redis-server && have redis-benchmark && have redis-cli && HAVE_REDIS=1
have python3 && python3 -c 'import multiprocessing.managers' 2>/dev/null && HAVE_PY=1
have gnuplot && HAVE_PLOT=1
[ $HAVE_REDIS = 1 ] || say "bench: Redis is not installed: its columns stay empty"
[ $HAVE_PY = 1 ] || say "bench: python3 is not installed: its columns stay empty"
[ $HAVE_PLOT = 1 ] || say "bench: gnuplot is not installed: no chart"

if [ ! -x "$DAEMON" ] || [ ! -x "$LOADGEN" ]; then
	say "bench: build first: make all $LOADGEN"
	exit 1
fi

# Thousands of connections need thousands of descriptors, on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Other work on the machine skews a comparison: a system measured with 16
# processes (Python's) takes a larger share of a busy CPU than one with 2.
# As root, everything measured here (servers and clients of all three,
# which inherit it) runs at a higher priority than the rest of the machine.
NICE=0
if [ "${BENCH_NICE:-1}" = 1 ] && [ "$(id -u)" = 0 ] && renice -n -10 -p $$ >/dev/null 2>&1; then
	NICE=-10
fi
# Whether one-connection measurements pin client and server to one CPU
# (see place() below).
PIN=${BENCH_PIN:-1}
have taskset || PIN=0
ALL_CPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')

mkdir -p "$OUT"
: >"$RAW"

# ---- the machine ----

describe() {
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host kernel: $(uname -srmo)"
	echo "procshare: $($DAEMON --version 2>&1 | head -1) (git $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
	echo "compiler: $(${CC:-cc} --version | head -1)"
	echo "libevent $(pkg-config --modversion libevent), msgpack-c $(pkg-config --modversion msgpack), libsodium $(pkg-config --modversion libsodium)"
	[ $HAVE_REDIS = 1 ] && echo "redis: $(redis-server --version)"
	[ $HAVE_PY = 1 ] && echo "python: $(python3 --version 2>&1)"
	[ $HAVE_PLOT = 1 ] && echo "gnuplot: $(gnuplot --version)"
	echo "rounds: $ROUNDS x ${SECS}s; fd limit $(ulimit -n); nice $NICE; one connection pinned to CPU 0: $([ "$PIN" = 1 ] && echo yes || echo no)"
	echo "procshared: unix:<tmp>/ps.sock and TCP 127.0.0.1:$ps_port, --unix-encryption optional --tcp-encryption optional; comparison rows: Unix socket, plaintext sessions"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	lscpu
	echo
	grep -E 'MemTotal|MemAvailable' /proc/meminfo
}

# A TCP port on loopback nobody listens on, from the first one to try.
free_port() {
	for p in $(seq "$1" $(($1 + 100))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 0
}

# The daemon's TCP port, for the encrypted and plaintext TCP rows.
ps_port=$(free_port 27379)
CLK_TCK=$(getconf CLK_TCK)

# CPU time (user + system, clock ticks) process PID has used so far.
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }

describe >"$OUT/machine.txt" 2>&1

# ---- servers ----

wait_for_socket() {
	for _ in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# The daemon listens on a Unix socket and on TCP loopback. Over the Unix
# socket encryption is optional (the default): the plaintext rows use
# plaintext sessions, the encrypted rows ask for encryption. Over TCP it is
# made optional too (the default is required), so that the encrypted rows
# have a plaintext TCP baseline; an encrypted session is the same either way.
start_procshare() {
	rm -f "$tmp/ps.sock"
	"$DAEMON" -l "unix:$tmp/ps.sock" -l "127.0.0.1:$ps_port" -k "$tmp/key" --max-connections $((IDLE + 100)) \
		--unix-encryption optional --tcp-encryption optional --log-level warn 2>>"$tmp/procshared.log" &
	ps_pid=$!
	wait_for_socket "$tmp/ps.sock" || { say "bench: procshared did not start"; cat "$tmp/procshared.log" >&2; exit 1; }
}

stop_procshare() {
	kill "$ps_pid" 2>/dev/null
	wait "$ps_pid" 2>/dev/null
	ps_pid=
}

start_redis() {
	rm -f "$tmp/redis.sock"
	redis-server --bind 127.0.0.1 --port "$(free_port 26379)" --unixsocket "$tmp/redis.sock" --unixsocketperm 700 \
		--save '' --appendonly no --dir "$tmp" --maxclients $((IDLE + 100)) --loglevel warning \
		>>"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	wait_for_socket "$tmp/redis.sock" || { say "bench: redis-server did not start"; cat "$tmp/redis.log" >&2; HAVE_REDIS=0; redis_pid=; }
}

stop_redis() {
	[ -n "$redis_pid" ] || return
	kill "$redis_pid" 2>/dev/null
	wait "$redis_pid" 2>/dev/null
	redis_pid=
}

head -c 32 /dev/urandom >"$tmp/key"
chmod 600 "$tmp/key"

# ---- throughput ----

# One connection runs with client and server on one CPU, for all three
# systems alike. Left to the scheduler, a single connection's client and
# server share a CPU most of the time, but not always; on the other CPU
# each round trip waits for a cross-CPU wakeup, which on this kind of
# virtual machine costs ten times the round trip (5,000 instead of 42,000
# a second), and single-connection figures came out bimodal. With more
# connections both CPUs stay busy and nothing is pinned. BENCH_PIN=0: never
# (PIN is set at the top).

# place CONNS PID...: the servers' CPUs for a measurement with CONNS.
place() {
	local c=$1 cpus=$ALL_CPUS
	shift
	[ "$PIN" = 1 ] || return 0
	[ "$c" = 1 ] && cpus=0
	for pid in "$@"; do
		[ -n "$pid" ] && taskset -a -pc "$cpus" "$pid" >/dev/null 2>&1
	done
	return 0
}

# on CONNS: the prefix that runs a client accordingly.
on() {
	[ "$PIN" = 1 ] && [ "$1" = 1 ] && echo "taskset -c 0"
	return 0
}

# record SYSTEM ROW ROUND LINE: one raw result (LINE is key=value pairs).
record() { echo "R system=$1 row=$2 round=$3 ${4#*: }" >>"$RAW"; }

# ps_run OP CONNS DEPTH ROUND [ROW [ENCRYPTED [LOADGEN ARGS...]]]: one
# procshare measurement, over the Unix socket in a plaintext session
# unless the arguments say otherwise; ENCRYPTED (0 or 1, default 0) is what
# the session must have been, checked against loadgen's report.
ps_run() {
	local op=$1 c=$2 P=$3 rnd=$4 row=${5:-$1/$2/$3} want=${6:-0} engine=loop line
	shift 6 2>/dev/null || shift $#
	[ "$c" = 1 ] && [ "$P" = 1 ] && engine=lib
	place "$c" "$ps_pid"
	line=$($(on "$c") "$LOADGEN" -a "unix:$tmp/ps.sock" -k "$tmp/key" -p "$ps_pid" -t "$op" -c "$c" -P "$P" \
		-d "$SECS" --engine $engine --encryption off "$@" 2>>"$tmp/loadgen.err") ||
		{ say "bench: loadgen $row failed: $(tail -1 "$tmp/loadgen.err")"; return; }
	case $line in
	*" encrypted=$want "*) record procshare "$row" "$rnd" "$line" ;;
	*) say "bench: loadgen $row: the session was not what was asked (encrypted=$want); not recorded" ;;
	esac
}

floor_run() { # conns round
	local line
	line=$($(on "$1") "$LOADGEN" --floor -c "$1" -d "$SECS" 2>>"$tmp/loadgen.err") && record procshare "floor/$1/1" "$2" "$line"
}

py_run() { # op conns round [row]
	local line row=${4:-$1/$2/1}
	local cpu=""
	[ "$PIN" = 1 ] && [ "$2" = 1 ] && cpu="--cpu 0"
	line=$(python3 bench/pymanager.py --op "$1" -c "$2" -d "$SECS" $cpu 2>>"$tmp/python.err") &&
		record python "$row" "$3" "$line" || say "bench: python $1 c=$2 failed: $(tail -1 "$tmp/python.err")"
}

# redis-benchmark runs its tests for a request count: aim at SECS seconds
# from the rate each configuration usually reaches.
redis_n() { # conns depth
	local rate=40000
	[ "$1" -gt 1 ] && rate=150000
	[ "$2" -gt 1 ] && rate=600000
	awk -v r=$rate -v s="$SECS" 'BEGIN { n = int(r * s); if (n < 1000) n = 1000; print n }'
}

# redis_run CONNS DEPTH ROUND: SET, GET, INCR, LPUSH and RPOP, each by its
# own redis-benchmark so that the server's CPU time per operation can be
# told apart (RPOP pops what LPUSH pushed just before).
redis_run() {
	local n csv t0 t1 test
	n=$(redis_n "$1" "$2")
	place "$1" "$redis_pid"
	for test in set get incr lpush rpop; do
		t0=$(ticks "$redis_pid")
		csv=$($(on "$1") redis-benchmark -s "$tmp/redis.sock" -c "$1" -P "$2" -n "$n" -r 10000 -d 3 \
			-t "$test" --csv 2>>"$tmp/redis.err") || { say "bench: redis-benchmark $test failed"; continue; }
		t1=$(ticks "$redis_pid")
		# "GET","rps","avg","min","p50","p95","p99","max" -> one record.
		echo "$csv" | tr -d '"' | awk -F, -v c="$1" -v P="$2" -v rnd="$3" -v n="$n" -v dt=$((t1 - t0)) -v hz="$CLK_TCK" '
			$1 == "SET" { op = "set" } $1 == "GET" { op = "get" } $1 == "INCR" { op = "value" }
			$1 ~ /^LPUSH/ { op = "append" } $1 ~ /^RPOP/ { op = "rpop" }
			$1 ~ /^(SET|GET|INCR|LPUSH|RPOP)/ {
				printf "R system=redis row=%s/%s/%s round=%s mode=ops engine=redis-benchmark mix=%s conns=%s depth=%s ops_per_sec=%s p50_us=%.1f p99_us=%.1f p999_us=- errors=0 srv_cpu_us_per_op=%.3f\n",
					op, c, P, rnd, $1, c, P, $2, $5 * 1000, $7 * 1000, dt * 1e6 / hz / n
			}' >>"$RAW"
	done
}

# The configurations (connections/depth) and, for each, what is measured.
CONFS="1/1 16/1 50/1 1/16 16/16"
ps_ops() { # conns depth
	case $1/$2 in
	1/1 | 16/1) echo "get set append queue lock value" ;;
	*) echo "get set" ;;
	esac
}
py_ops() { # conns depth: Python's driver makes one call at a time
	case $1/$2 in
	1/1 | 16/1) echo "get set append queue lock value" ;;
	esac
}

# measure_conf CONNS DEPTH ROUND: the three systems, one after the other,
# on one configuration; odd rounds start with procshare, even ones end
# with it, so that none is always measured first or last.
measure_conf() {
	local c=$1 P=$2 r=$3 sys order="procshare redis python" op
	[ $((r % 2)) = 0 ] && order="python redis procshare"
	for sys in $order; do
		case $sys in
		procshare)
			[ "$P" = 1 ] && { [ "$c" = 1 ] || [ "$c" = 16 ]; } && floor_run "$c" "$r"
			for op in $(ps_ops "$c" "$P"); do
				ps_run "$op" "$c" "$P" "$r"
			done
			;;
		redis)
			[ $HAVE_REDIS = 1 ] && redis_run "$c" "$P" "$r"
			;;
		python)
			if [ $HAVE_PY = 1 ]; then
				for op in $(py_ops "$c" "$P"); do
					py_run "$op" "$c" "$r"
				done
			fi
			;;
		esac
	done
}

# The encrypted path next to the plaintext one: OP/CONNS/DEPTH/VALUE-BYTES,
# each over four transports, back to back (reversed in even rounds). Big
# values (64 KiB) use 64 keys, so the dict stays small.
ENC_CONFS="get/1/1/3 set/1/1/3 get/16/1/3 set/16/1/3 get/16/16/3 set/16/16/3
get/1/1/65536 set/1/1/65536 get/16/1/65536 set/16/1/65536"
TRANSPORTS="unix unix-enc tcp tcp-enc"

enc_run() { # transport op conns depth vsize round
	local addr="unix:$tmp/ps.sock" enc=off want=0 keys=10000
	case $1 in
	unix-enc) enc=on want=1 ;;
	tcp) addr="127.0.0.1:$ps_port" ;;
	tcp-enc) addr="127.0.0.1:$ps_port" enc=on want=1 ;;
	esac
	[ "$5" -gt 1024 ] && keys=64
	ps_run "$2" "$3" "$4" "$6" "enc/$1/$2/$3/$4/$5" "$want" -a "$addr" --encryption "$enc" \
		--value-size "$5" --keys "$keys"
}

CHART_CONNS="1 2 4 8 16 32 50 100 200 500 1000"
PY_CHART_CONNS="1 2 4 8 16 32"

start_procshare
[ $HAVE_REDIS = 1 ] && start_redis
for r in $(seq "$ROUNDS"); do
	say "bench: round $r of $ROUNDS: throughput"
	for conf in $CONFS; do
		IFS=/ read -r c P <<<"$conf"
		measure_conf "$c" "$P" "$r"
	done
	say "bench: round $r of $ROUNDS: encrypted and plaintext sessions"
	order=$TRANSPORTS
	[ $((r % 2)) = 0 ] && order=$(echo "$TRANSPORTS" | tr ' ' '\n' | tac | tr '\n' ' ')
	for conf in $ENC_CONFS; do
		IFS=/ read -r op c P vs <<<"$conf"
		for t in $order; do
			enc_run "$t" "$op" "$c" "$P" "$vs" "$r"
		done
	done
	say "bench: round $r of $ROUNDS: get against connection count"
	for c in $CHART_CONNS; do
		ps_run get "$c" 1 "$r" "chart/$c"
		if [ $HAVE_REDIS = 1 ]; then
			place "$c" "$redis_pid"
			csv=$($(on "$c") redis-benchmark -s "$tmp/redis.sock" -c "$c" -n "$(redis_n "$c" 1)" -r 10000 -d 3 -t get --csv 2>>"$tmp/redis.err")
			echo "$csv" | tr -d '"' | awk -F, -v c="$c" -v rnd="$r" '$1 == "GET" {
				printf "R system=redis row=chart/%s round=%s mode=ops mix=GET conns=%s depth=1 ops_per_sec=%s\n", c, rnd, c, $2 }' >>"$RAW"
		fi
	done
	if [ $HAVE_PY = 1 ]; then
		for c in $PY_CHART_CONNS; do
			py_run get "$c" "$r" "chart/$c"
		done
	fi
done
stop_redis

# ---- memory: one dict of FILL entries, int -> short str ----

redis_fill() { # round
	local before after
	start_redis
	[ -n "$redis_pid" ] || return
	before=$(awk '/VmRSS/ { print $2 }' "/proc/$redis_pid/status")
	awk -v n="$FILL" 'BEGIN { for (i = 0; i < n; i++) { k = i ""; v = sprintf("v%07d", i);
		printf "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' |
		redis-cli -s "$tmp/redis.sock" --pipe >"$tmp/redis-pipe.log" 2>&1
	after=$(awk '/VmRSS/ { print $2 }' "/proc/$redis_pid/status")
	len=$(redis-cli -s "$tmp/redis.sock" hlen h)
	echo "R system=redis row=mem round=$1 mode=fill entries=$FILL len=$len rss_before_kb=$before rss_after_kb=$after bytes_per_entry=$(awk -v a="$after" -v b="$before" -v n="$FILL" 'BEGIN { printf "%.1f", (a - b) * 1024 / n }')" >>"$RAW"
	stop_redis
}

stop_procshare
for r in $(seq "$ROUNDS"); do
	say "bench: round $r of $ROUNDS: memory ($FILL entries) and $IDLE idle connections"
	# A fresh daemon each time: what is measured is what the entries cost.
	start_procshare
	line=$("$LOADGEN" -a "unix:$tmp/ps.sock" -k "$tmp/key" -p "$ps_pid" --fill "$FILL" --encryption off \
		2>>"$tmp/loadgen.err") &&
		record procshare mem "$r" "$line" || say "bench: loadgen --fill failed: $(tail -1 "$tmp/loadgen.err")"
	stop_procshare
	start_procshare
	line=$("$LOADGEN" -a "unix:$tmp/ps.sock" -k "$tmp/key" -p "$ps_pid" --idle "$IDLE" --encryption off \
		2>>"$tmp/loadgen.err") &&
		record procshare idle "$r" "$line" || say "bench: loadgen --idle failed: $(tail -1 "$tmp/loadgen.err")"
	stop_procshare
	# The same with encrypted sessions: keys and record buffers.
	start_procshare
	line=$("$LOADGEN" -a "unix:$tmp/ps.sock" -k "$tmp/key" -p "$ps_pid" --idle "$IDLE" --encryption on \
		2>>"$tmp/loadgen.err") &&
		record procshare idle-enc "$r" "$line" || say "bench: loadgen --idle (encrypted) failed: $(tail -1 "$tmp/loadgen.err")"
	stop_procshare
	[ $HAVE_REDIS = 1 ] && redis_fill "$r"
	if [ $HAVE_PY = 1 ]; then
		line=$(python3 bench/pymanager.py --fill "$FILL" 2>>"$tmp/python.err") && record python mem "$r" "$line"
	fi
done

# ---- the report ----

awk -f bench/report.awk -v have_redis=$HAVE_REDIS -v have_py=$HAVE_PY "$RAW" >"$OUT/results.md"
{ echo; echo '```'; cat "$OUT/machine.txt"; echo '```'; } >>"$OUT/results.md"
awk -f bench/report.awk -v chart=1 "$RAW" >"$OUT/chart.dat"
if [ $HAVE_PLOT = 1 ]; then
	gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/throughput.png'" bench/chart.gp 2>>"$tmp/gnuplot.err" ||
		say "bench: gnuplot failed: $(tail -1 "$tmp/gnuplot.err")"
fi
rm -f bench/results/latest
ln -s "$stamp" bench/results/latest
cat "$OUT/results.md"
say "bench: results in $OUT/ (raw figures in raw.txt)"
for f in "$tmp"/*.err; do
	[ -s "$f" ] && { say "bench: $(basename "$f"):"; tail -5 "$f" >&2; }
done
exit 0
