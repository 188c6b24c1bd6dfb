# Turns bench/run.sh's raw records into the Markdown report (or, with
# -v chart=1, the data of the chart). A record is one line:
#   R system=procshare row=get/16/1 round=2 ops_per_sec=... p50_us=... ...
# Each figure is the median of its rounds, shown with min and max; ratios
# are of medians, procshare over the other system, measured in one run.

function field(name,    i, kv) {
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == name)
			return substr($i, length(name) + 2)
	}
	return ""
}

function add(key, v) {
	if (v == "" || v == "-")
		return
	n[key]++
	vals[key, n[key]] = v + 0
}

# Sorts the samples of key into s[1..m]; returns m.
function samples(key,    m, i, j, t) {
	m = n[key] + 0
	for (i = 1; i <= m; i++)
		s[i] = vals[key, i]
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && s[j - 1] > s[j]; j--) {
			t = s[j]; s[j] = s[j - 1]; s[j - 1] = t
		}
	return m
}

function median(key,    m) {
	m = samples(key)
	if (m == 0)
		return ""
	return m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
}

function human(v) {
	if (v == "")
		return "–"
	if (v >= 100)
		return sprintf("%d", v + 0.5)
	return sprintf("%.1f", v)
}

# "median [min–max]"
function cell(key,    m, med) {
	m = samples(key)
	if (m == 0)
		return "–"
	med = m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
	if (m == 1)
		return human(med)
	return sprintf("%s [%s–%s]", human(med), human(s[1]), human(s[m]))
}

# 1000000 -> "1,000,000"
function count(n,    s) {
	if (n == "")
		return "?"
	s = n ""
	while (s ~ /[0-9][0-9][0-9][0-9]/)
		sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
	return s
}

function ratio(a, b) {
	if (a == "" || b == "" || b == 0)
		return "–"
	return sprintf("%.2f×", a / b)
}

/^R / {
	sys = field("system"); row = field("row"); rnd = field("round")
	add(sys SUBSEP row SUBSEP "ops", field("ops_per_sec"))
	add(sys SUBSEP row SUBSEP "p50", field("p50_us"))
	add(sys SUBSEP row SUBSEP "p99", field("p99_us"))
	add(sys SUBSEP row SUBSEP "p999", field("p999_us"))
	add(sys SUBSEP row SUBSEP "bpe", field("bytes_per_entry"))
	add(sys SUBSEP row SUBSEP "bpc", field("bytes_per_conn"))
	add(sys SUBSEP row SUBSEP "cpu", field("srv_cpu_us_per_op"))
	if (sys == "redis")
		rate[row, rnd] = field("ops_per_sec")
	if (row == "mem" && field("entries") != "")
		fill_n = field("entries")
	if (row == "idle" && field("conns") != "")
		idle_n = field("conns")
	rounds[rnd] = 1
	seen[sys] = 1
}

# Redis's equivalent of a queue put+get pair: an LPUSH and an RPOP, one
# after the other, so pairs/s = 1 / (1/lpush + 1/rpop) in each round.
function redis_pairs(    r, c, k, parts, a, b) {
	for (k in rate) {
		split(k, parts, SUBSEP)
		if (parts[1] !~ /^append\//)
			continue
		c = substr(parts[1], 8)
		a = rate[parts[1], parts[2]]
		b = rate["rpop/" c, parts[2]]
		if (a > 0 && b > 0)
			add("redis" SUBSEP "queue/" c SUBSEP "ops", 1 / (1 / a + 1 / b))
	}
}

function label(op) {
	if (op == "get") return "dict get (Redis GET)"
	if (op == "set") return "dict set (Redis SET)"
	if (op == "append") return "list append (Redis LPUSH)"
	if (op == "queue") return "queue put+get (Redis LPUSH+RPOP)"
	if (op == "lock") return "lock acquire+release"
	if (op == "value") return "value add (Redis INCR, Python Value get)"
	if (op == "floor") return "bare C ping-pong (the floor)"
	return op
}

function short_label(op) {
	if (op == "get") return "dict get"
	if (op == "set") return "dict set"
	return op
}

function med(sys, row, what) {
	return median(sys SUBSEP row SUBSEP what)
}

function lat(sys, row,    a, b, c) {
	a = med(sys, row, "p50"); b = med(sys, row, "p99"); c = med(sys, row, "p999")
	if (a == "")
		return "–"
	return human(a) " / " human(b) (c == "" ? "" : " / " human(c))
}

# A CPU time per operation in microseconds, to 3 significant digits.
function us(v) {
	if (v == "")
		return "–"
	if (v >= 100)
		return sprintf("%d", v + 0.5)
	if (v >= 10)
		return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}

function cpu_cell(sys, row,    m) {
	m = samples(sys SUBSEP row SUBSEP "cpu")
	if (m == 0)
		return "–"
	return us(median(sys SUBSEP row SUBSEP "cpu"))
}

# Ratio of medians a/b of the given measure, or "–".
function mratio(sa, ra, sb, rb, what,    a, b) {
	a = med(sa, ra, what); b = med(sb, rb, what)
	return ratio(a, b)
}

function target(text, measured, ok) {
	printf "| %s | %s | %s |\n", text, measured, measured == "–" ? "not measured" : (ok ? "yes" : "**no**")
}

function ratio_target(text, a, b, want,    r) {
	r = (a == "" || b == "" || b == 0) ? "" : a / b
	target(text, r == "" ? "–" : sprintf("%.2f× (%s vs %s)", r, human(a), human(b)), r != "" && r >= want)
}

# A queue or lock pair at one connection is two round trips, one after
# the other, for procshare and for Python's manager alike: what 4x
# Python's pairs would need, against the bare ping-pong of the same run.
function pair_note(op, text,    a, b, fl) {
	a = med("procshare", op "/1/1", "ops"); b = med("python", op "/1/1", "ops"); fl = med("procshare", "floor/1/1", "ops")
	if (a == "" || b == "" || fl == "")
		return
	printf "\n%s at 1 connection is two round trips per pair, for both: procshare %s pairs/s = %s round trips/s (%.2f× the bare ping-pong, %s/s); Python's manager %s pairs/s = %s round trips/s. 4× Python would take %s round trips/s, %.2f× the ping-pong: more than a request/response protocol can do one call at a time.\n",
		text, human(a), human(2 * a), 2 * a / fl, human(fl), human(b), human(2 * b), human(8 * b), 8 * b / fl
}

# The encrypted path beside the plaintext one (rows enc/TRANSPORT/OP/C/P/BYTES).
function encrypted_tables(    i, e, p, r, t, u, v) {
	split("get/1/1/3 set/1/1/3 get/16/1/3 set/16/1/3 get/16/16/3 set/16/16/3 get/1/1/65536 set/1/1/65536 get/16/1/65536 set/16/1/65536", e, " ")
	if (med("procshare", "enc/unix/" e[1], "ops") == "" && med("procshare", "enc/unix-enc/" e[1], "ops") == "")
		return
	printf "\n## Encrypted sessions\n\nprocshare only: the same operations in plaintext sessions and in encrypted ones (XChaCha20-Poly1305 records, PROTOCOL.md 2.2), over the Unix socket and over TCP loopback, measured back to back in each round. Operations per second, median of %d rounds [min–max]; enc/plain is the ratio of the medians. The daemon runs with --unix-encryption optional and --tcp-encryption optional so that both kinds of session can be measured on one listener (the TCP default, required, refuses plaintext). Big values: 64 KiB str values on 64 keys.\n\n", nr
	print "| operation | conns | depth | value bytes | Unix plain | Unix encrypted | enc/plain | TCP plain | TCP encrypted | enc/plain |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i in e; i++) {
		split(e[i], p, "/")
		r = "enc/unix/" e[i]; t = "enc/unix-enc/" e[i]; u = "enc/tcp/" e[i]; v = "enc/tcp-enc/" e[i]
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", short_label(p[1]), p[2], p[3], p[4],
			cell("procshare" SUBSEP r SUBSEP "ops"), cell("procshare" SUBSEP t SUBSEP "ops"),
			mratio("procshare", t, "procshare", r, "ops"),
			cell("procshare" SUBSEP u SUBSEP "ops"), cell("procshare" SUBSEP v SUBSEP "ops"),
			mratio("procshare", v, "procshare", u, "ops")
	}
	printf "\nLatency p50 (µs) and the daemon's CPU time per operation (µs), plain → encrypted, medians.\n\n"
	print "| operation | conns | depth | value bytes | p50 Unix | p50 TCP | daemon CPU Unix | daemon CPU TCP |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i in e; i++) {
		split(e[i], p, "/")
		r = "enc/unix/" e[i]; t = "enc/unix-enc/" e[i]; u = "enc/tcp/" e[i]; v = "enc/tcp-enc/" e[i]
		printf "| %s | %s | %s | %s | %s → %s | %s → %s | %s → %s | %s → %s |\n", short_label(p[1]), p[2], p[3], p[4],
			human(med("procshare", r, "p50")), human(med("procshare", t, "p50")),
			human(med("procshare", u, "p50")), human(med("procshare", v, "p50")),
			cpu_cell("procshare", r), cpu_cell("procshare", t), cpu_cell("procshare", u), cpu_cell("procshare", v)
	}
}

END {
	redis_pairs()
	nr = 0
	for (r in rounds)
		nr++
	if (chart) {
		print "# conns procshare redis python (get, ops/s, medians)"
		split("1 2 4 8 16 32 50 100 200 500 1000", cc, " ")
		for (i = 1; i in cc; i++) {
			a = med("procshare", "chart/" cc[i], "ops")
			b = med("redis", "chart/" cc[i], "ops")
			c = med("python", "chart/" cc[i], "ops")
			printf "%s %s %s %s\n", cc[i], a == "" ? "?" : a, b == "" ? "?" : b, c == "" ? "?" : c
		}
		exit
	}
	split("floor/1/1 floor/16/1 get/1/1 set/1/1 get/16/1 set/16/1 get/50/1 set/50/1 get/1/16 set/1/16 get/16/16 set/16/16 append/1/1 append/16/1 queue/1/1 queue/16/1 lock/1/1 lock/16/1 value/1/1 value/16/1", rows, " ")
	printf "## Throughput\n\nOperations per second, median of %d rounds [min–max]. One operation is one request, or a pair for queue (put+get) and lock (acquire+release). procshare over a Unix socket in plaintext sessions (what a client gets there by default); with 1 connection it uses libprocshare's blocking API, with more bench/loadgen's epoll loop; Redis: redis-benchmark over a Unix socket; Python: one process per connection.\n\n", nr
	print "| operation | conns | depth | procshare | Redis | Python manager | procshare/Redis | procshare/Python |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i in rows; i++) {
		split(rows[i], p, "/")
		a = med("procshare", rows[i], "ops"); b = med("redis", rows[i], "ops"); c = med("python", rows[i], "ops")
		printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label(p[1]), p[2], p[3],
			cell("procshare" SUBSEP rows[i] SUBSEP "ops"), cell("redis" SUBSEP rows[i] SUBSEP "ops"),
			cell("python" SUBSEP rows[i] SUBSEP "ops"), ratio(a, b), ratio(a, c)
	}
	printf "\n## Server CPU per operation\n\nMicroseconds of CPU time (user + system, all threads) the server used per operation during the measurement, medians: procshared, redis-server, the manager's server process; for the floor, its echo server. Unlike a rate, this hardly moves when other work on the machine takes a CPU away. The ratios are the other server's time over procshared's (above 1: procshared spends less).\n\n"
	print "| operation | conns | depth | procshare | Redis | Python manager | Redis/procshare | Python/procshare |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i in rows; i++) {
		split(rows[i], p, "/")
		printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label(p[1]), p[2], p[3],
			cpu_cell("procshare", rows[i]), cpu_cell("redis", rows[i]), cpu_cell("python", rows[i]),
			mratio("redis", rows[i], "procshare", rows[i], "cpu"), mratio("python", rows[i], "procshare", rows[i], "cpu")
	}
	encrypted_tables()
	printf "\n## Latency\n\nMicroseconds, p50 / p99 / p99.9 (redis-benchmark reports no p99.9), medians over the rounds.\n\n"
	print "| operation | conns | depth | procshare | Redis | Python manager |"
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 3; i in rows; i++) {
		split(rows[i], p, "/")
		printf "| %s | %s | %s | %s | %s | %s |\n", label(p[1]), p[2], p[3], lat("procshare", rows[i]),
			lat("redis", rows[i]), lat("python", rows[i])
	}
	printf "\n## Memory\n\nBytes of server RSS growth, median of the rounds [min–max].\n\n"
	print "| benchmark | procshare | Redis | Python manager |"
	print "|---|---:|---:|---:|"
	printf "| per entry: one dict (Redis: one hash) of int → short str, %s entries | %s | %s | %s |\n", count(fill_n),
		cell("procshare" SUBSEP "mem" SUBSEP "bpe"), cell("redis" SUBSEP "mem" SUBSEP "bpe"), cell("python" SUBSEP "mem" SUBSEP "bpe")
	printf "| per idle connection, %s held open | %s | – | – |\n", count(idle_n), cell("procshare" SUBSEP "idle" SUBSEP "bpc")
	printf "| per idle connection, %s held open, encrypted sessions | %s | – | – |\n", count(idle_n),
		cell("procshare" SUBSEP "idle-enc" SUBSEP "bpc")

	printf "\n## Targets\n\n| target | measured | met |\n|---|---|---|\n"
	pg = med("procshare", "get/1/1", "ops"); fl = med("procshare", "floor/1/1", "ops")
	ratio_target("1 connection, dict get ≥ 1.2× Redis GET", pg, med("redis", "get/1/1", "ops"), 1.2)
	ratio_target("1 connection, dict set ≥ 1.2× Redis SET", med("procshare", "set/1/1", "ops"), med("redis", "set/1/1", "ops"), 1.2)
	ratio_target("1 connection, dict get ≥ 85% of the bare ping-pong", pg, fl, 0.85)
	ratio_target("1 connection, dict set ≥ 85% of the bare ping-pong", med("procshare", "set/1/1", "ops"), fl, 0.85)
	# The same by median round trip: rates on a busy machine carry the
	# stalls other work causes; the p50 round trip does not.
	ratio_target("1 connection, dict get ≥ 85% of the ping-pong, by p50 round trip (floor p50 / get p50)",
		med("procshare", "floor/1/1", "p50"), med("procshare", "get/1/1", "p50"), 0.85)
	ratio_target("1 connection, dict set ≥ 85% of the ping-pong, by p50 round trip (floor p50 / set p50)",
		med("procshare", "floor/1/1", "p50"), med("procshare", "set/1/1", "p50"), 0.85)
	split("get/16/1 set/16/1 get/50/1 set/50/1", rr, " ")
	for (i = 1; i in rr; i++)
		ratio_target(rr[i] " (op/conns/depth) ≥ 1.2× Redis", med("procshare", rr[i], "ops"), med("redis", rr[i], "ops"), 1.2)
	split("get/1/16 set/1/16 get/16/16 set/16/16", rr, " ")
	for (i = 1; i in rr; i++)
		ratio_target(rr[i] " pipelined ≥ Redis pipelined", med("procshare", rr[i], "ops"), med("redis", rr[i], "ops"), 1.0)
	ratio_target("queue put+get, 1 connection ≥ 4× Python", med("procshare", "queue/1/1", "ops"), med("python", "queue/1/1", "ops"), 4)
	ratio_target("lock acquire+release, 1 connection ≥ 4× Python", med("procshare", "lock/1/1", "ops"), med("python", "lock/1/1", "ops"), 4)
	split("get set append queue lock value", ops, " ")
	for (i = 1; i in ops; i++)
		ratio_target(ops[i] " at 16 connections ≥ 5× Python", med("procshare", ops[i] "/16/1", "ops"), med("python", ops[i] "/16/1", "ops"), 5)
	m = med("procshare", "mem", "bpe")
	target("≤ 64 bytes of RSS per dict entry", m == "" ? "–" : human(m) " B", m != "" && m <= 64)
	m = med("procshare", "idle", "bpc")
	target("≤ 4 KiB per idle connection", m == "" ? "–" : human(m) " B", m != "" && m <= 4096)
	m = med("procshare", "idle-enc", "bpc")
	target("≤ 4 KiB per idle connection, encrypted sessions", m == "" ? "–" : human(m) " B", m != "" && m <= 4096)
	pair_note("queue", "queue put+get")
	pair_note("lock", "lock acquire+release")
	if (!have_redis)
		print "\nRedis was not installed: its columns are empty."
	if (!have_py)
		print "\nPython was not installed: its columns are empty."
}
