#!/usr/bin/env bash
# bench/dnsperf.sh — DNS load test of the coordcatalog answer path next to
# CoreDNS's in-tree `file` plugin, in one coredns-coord process.
#
#   make build && bench/dnsperf.sh        (or: make bench)
#
# What it does, all on 127.0.0.1 and bounded in time (~4 minutes; a
# watchdog stops it after $MAX_RUNTIME seconds):
#   1. starts bin/coredns-coord with a generated Corefile: a `consul:` block
#      (coordcatalog, dev mode, HTTP API) and a `static.test:` block (file
#      plugin) on another port, both with the same bind/prometheus/errors;
#   2. registers `web` (3 instances on n1..n3, tag v1) through the HTTP API
#      and writes the equivalent static zone; then, for four query shapes
#      (service A, service SRV, RFC 2782 SRV, node A), runs dnsperf against
#      both blocks: saturating runs, interleaved, best of $ROUNDS (QPS,
#      avg/stddev/max latency), then one run of each at the same rate, half
#      the lower peak, with per-query latencies (-v) for p50/p99/p99.9;
#   3. grows the catalog to $SERVICES services with one of $BIG_INSTANCES
#      instances (bench/populate, concurrent HTTP registration) and runs the
#      same pairs again, plus the large service's A and SRV (answers trimmed
#      to the EDNS0 buffer) against the file plugin serving the same records;
#   4. samples the server's VmRSS idle, under load and after populating;
#   5. prints a markdown table and writes it to bench/results/latest.md.
#
# Tunables (environment): PEAK_SECS, ROUNDS, P99_SECS, CLIENTS, THREADS,
# OUTSTANDING, EDNS (1: dnsperf -e on every run), SERVICES, BIG_INSTANCES,
# MAX_RUNTIME (watchdog, seconds), QUIET_WAIT (seconds to wait for other
# work on the machine to calm down before starting), BIN, RESULTS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/bin/coredns-coord}
RESULTS=${RESULTS:-$ROOT/bench/results/latest.md}
PEAK_SECS=${PEAK_SECS:-3}
ROUNDS=${ROUNDS:-2}
P99_SECS=${P99_SECS:-3}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-1}
OUTSTANDING=${OUTSTANDING:-64}
EDNS=${EDNS:-1}
SERVICES=${SERVICES:-10000}
BIG_INSTANCES=${BIG_INSTANCES:-1000}
MAX_RUNTIME=${MAX_RUNTIME:-330}

log() { printf '[dnsperf.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# ---------------------------------------------------------------- tools
[ -x "$BIN" ] || die "$BIN not found: run 'make build' first"
command -v curl >/dev/null || die "curl is required"
command -v go >/dev/null || die "go is required (to build bench/populate)"
if ! command -v dnsperf >/dev/null; then
	log "installing dnsperf"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq dnsperf >/dev/null
fi
DNSPERF_VERSION=$(dnsperf -H 2>&1 | awk '/^Version/ {print $2; exit}')

# ---------------------------------------------------------------- lifetime
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coord-dnsperf.XXXXXX")
cd "$TMP" # nothing this script writes lands in the repository except $RESULTS
SERVER_PID="" DNSPERF_PID="" WATCHDOG_PID=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$DNSPERF_PID" ]; then kill "$DNSPERF_PID" 2>/dev/null || true; fi
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [ -n "$WATCHDOG_PID" ]; then kill "$WATCHDOG_PID" 2>/dev/null || true; fi
	if [ "$rc" -ne 0 ] && [ -f "$TMP/server.log" ]; then
		log "server log (last 30 lines):"
		tail -n 30 "$TMP/server.log" >&2 || true
	fi
	cd / && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
(
	trap 'kill "$!" 2>/dev/null; exit 0' TERM
	sleep "$MAX_RUNTIME" &
	wait "$!"
	log "watchdog: over ${MAX_RUNTIME}s, giving up"
	kill -TERM $$ 2>/dev/null
) &
WATCHDOG_PID=$!
START_TS=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- CPU accounting
# The machine may be shared: measure how busy it is before starting (and
# wait up to QUIET_WAIT seconds for it to calm down), and how much CPU
# processes other than ours used during the measurements.
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
busy_pct() { # over one second
	local b1 t1 b2 t2
	read -r b1 t1 <<<"$(cpu_ticks)"
	sleep 1
	read -r b2 t2 <<<"$(cpu_ticks)"
	awk -v b=$((b2 - b1)) -v t=$((t2 - t1)) 'BEGIN {printf "%.0f", (t > 0 ? 100 * b / t : 0)}'
}
# cpu_snapshot VAR: sets VAR to "busy total ours" in ticks; ours = the
# server and everything this script has run and reaped (dnsperf, populate,
# curl, awk...). Not in a subshell: `times` must see this shell's children.
cpu_snapshot() {
	local b t srv
	read -r b t <<<"$(cpu_ticks)"
	srv=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
	times >"$TMP/times"
	printf -v "$1" '%s' "$b $t $(awk -v hz="$HZ" -v srv="$srv" '
		function sec(x, a) { split(x, a, "m"); sub(/s$/, "", a[2]); return a[1] * 60 + a[2] }
		{u += sec($1); s += sec($2)}
		END {printf "%d", srv + (u + s) * hz}' "$TMP/times")"
}
QUIET_WAIT=${QUIET_WAIT:-30}
BUSY_START=$(busy_pct)
for _ in $(seq 1 $((QUIET_WAIT / 3))); do
	[ "$BUSY_START" -le 25 ] && break
	log "machine is ${BUSY_START}% busy with other work, waiting (up to ${QUIET_WAIT}s)"
	sleep 2
	BUSY_START=$(busy_pct)
done

# ---------------------------------------------------------------- ports
USED_PORTS=" "
port_busy() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Htanu "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
# pick_port VAR: a free high port on 127.0.0.1 (TCP and UDP), not yet picked.
pick_port() {
	local p
	for _ in $(seq 1 500); do
		p=$((20000 + RANDOM % 30000))
		case $USED_PORTS in *" $p "*) continue ;; esac
		port_busy "$p" && continue
		USED_PORTS+="$p "
		printf -v "$1" '%s' "$p"
		return 0
	done
	die "no free port found"
}
pick_port DNS_PORT
pick_port FILE_PORT
pick_port HTTP_PORT
pick_port RAFT_PORT
pick_port PROM_PORT
HTTP=http://127.0.0.1:$HTTP_PORT

# ---------------------------------------------------------------- populate tool
log "building bench/populate"
(cd "$ROOT" && go build -o "$TMP/populate" ./bench/populate) || die "cannot build bench/populate"

# ---------------------------------------------------------------- static zone
# The same data as the catalog, in the same name shapes, with TTL 0 as our
# default: web (3 instances n1..n3), big (BIG_INSTANCES instances b0001...).
ZONE=$TMP/static.zone
{
	echo '$ORIGIN static.test.'
	echo '$TTL 0'
	echo '@ IN SOA ns.static.test. hostmaster.static.test. 1 3600 600 86400 0'
	echo '@ IN NS ns.static.test.'
	echo 'ns IN A 127.0.0.1'
	for i in 1 2 3; do
		echo "web.service IN A 10.0.0.$i"
		echo "web.service IN SRV 1 1 80 n$i.node.static.test."
		echo "_web._tcp.service IN SRV 1 1 80 n$i.node.static.test."
		echo "_web._v1.service IN SRV 1 1 80 n$i.node.static.test."
		echo "n$i.node IN A 10.0.0.$i"
	done
	awk -v n="$BIG_INSTANCES" 'BEGIN {
		for (i = 1; i <= n; i++) {
			node = sprintf("b%04d", i); ip = sprintf("10.1.%d.%d", int(i / 250), i % 250 + 1)
			printf "big.service IN A %s\n", ip
			printf "big.service IN SRV 1 1 8080 %s.node.static.test.\n", node
			printf "_big._tcp.service IN SRV 1 1 8080 %s.node.static.test.\n", node
			printf "_big._v1.service IN SRV 1 1 8080 %s.node.static.test.\n", node
			printf "%s.node IN A %s\n", node, ip
		}
	}'
} >"$ZONE"

# ---------------------------------------------------------------- server
cat >"$TMP/Corefile" <<EOF
consul:$DNS_PORT {
    bind 127.0.0.1
    coordcatalog {
        dev
        node bench
        http 127.0.0.1:$HTTP_PORT
        server_port $RAFT_PORT
    }
    prometheus 127.0.0.1:$PROM_PORT
    errors
}

static.test:$FILE_PORT {
    bind 127.0.0.1
    file $ZONE
    prometheus 127.0.0.1:$PROM_PORT
    errors
}
EOF

log "starting $BIN (dns consul :$DNS_PORT, file :$FILE_PORT, http :$HTTP_PORT)"
(cd "$TMP" && exec "$BIN" -conf "$TMP/Corefile") >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

leader=""
for _ in $(seq 1 150); do
	kill -0 "$SERVER_PID" 2>/dev/null || die "server exited during startup"
	leader=$(curl -s --max-time 1 "$HTTP/v1/status/leader" 2>/dev/null || true)
	[[ $leader =~ ^\"[^\"]+\"$ ]] && break
	leader=""
	sleep 0.2
done
[ -n "$leader" ] || die "no leader after 30s (last answer: '$leader')"
log "ready, leader $leader after $(($(date +%s) - START_TS))s"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
sleep 1
RSS_IDLE=$(rss_kb)

# ---------------------------------------------------------------- small catalog
register() { # node address service port tag
	local out
	out=$(curl -s --max-time 5 -X PUT --data-binary \
		"{\"Node\":\"$1\",\"Address\":\"$2\",\"Service\":{\"Service\":\"$3\",\"Port\":$4,\"Tags\":[\"$5\"]}}" \
		"$HTTP/v1/catalog/register") || die "register $1/$3: curl failed"
	[ "$out" = "true" ] || die "register $1/$3: answered '$out'"
}
for i in 1 2 3; do register "n$i" "10.0.0.$i" web 80 v1; done
log "registered web x3"

# A quick look at both answers before loading them (informational).
NOTES=()
if command -v dig >/dev/null; then
	for spec in "$DNS_PORT web.service.consul A" "$FILE_PORT web.service.static.test A" \
		"$DNS_PORT _web._v1.service.consul SRV" "$FILE_PORT _web._v1.service.static.test SRV"; do
		set -- $spec
		a=$(dig +tries=1 +time=2 +noall +answer -p "$1" @127.0.0.1 "$2" "$3" | grep -c "IN[[:space:]]$3" || true)
		[ "$a" -eq 3 ] || NOTES+=("sanity: \`$2 $3\` on :$1 returned $a answers, expected 3")
	done
fi

# ---------------------------------------------------------------- measuring
mkdir -p "$TMP/data" "$TMP/out"
datafile() { # name "qname qtype"
	printf '%s\n' "$2" >"$TMP/data/$1"
	echo "$TMP/data/$1"
}
EDNS_ARGS=()
[ "$EDNS" = 1 ] && EDNS_ARGS=(-e)

RUN_RSS_MAX=0
# run_dnsperf OUT PORT DATA SECS [args...]: one bounded dnsperf run while
# sampling the server's RSS; RUN_RSS_MAX is the highest sample (kB).
run_dnsperf() {
	local out=$1 port=$2 data=$3 secs=$4 r
	shift 4
	dnsperf -s 127.0.0.1 -p "$port" -d "$data" -l "$secs" -t 2 \
		-c "$CLIENTS" -T "$THREADS" -q "$OUTSTANDING" ${EDNS_ARGS[@]+"${EDNS_ARGS[@]}"} "$@" \
		>"$out" 2>"$out.err" &
	DNSPERF_PID=$!
	RUN_RSS_MAX=0
	while kill -0 "$DNSPERF_PID" 2>/dev/null; do
		r=$(rss_kb)
		[ "${r:-0}" -gt "$RUN_RSS_MAX" ] && RUN_RSS_MAX=$r
		sleep 0.5
	done
	if ! wait "$DNSPERF_PID"; then
		DNSPERF_PID=""
		cat "$out.err" >&2
		die "dnsperf failed (port $port, $(cat "$data"))"
	fi
	DNSPERF_PID=""
	kill -0 "$SERVER_PID" 2>/dev/null || die "server died during a run"
}

# perf_stats FILE: "qps avg sd max lost sent respbytes rcodes" from dnsperf's summary.
perf_stats() {
	awk '
		/Queries sent:/      {sent = $3}
		/Queries lost:/      {lost = $3}
		/Response codes:/    {sub(/^ *Response codes: */, ""); rc = $0; gsub(/ /, "_", rc)}
		/Average packet size:/ {resp = $NF}
		/Queries per second:/ {qps = $4}
		/Average Latency/    {avg = $4; mx = $8; sub(/\)/, "", mx)}
		/Latency StdDev/     {sd = $4}
		END {printf "%s %s %s %s %s %s %s %s\n", qps, avg, sd, mx, lost, sent, resp, (rc == "" ? "-" : rc)}
	' "$1"
}

# pct FILE: "p50 p99 p999 n" (seconds) from dnsperf -v per-response lines.
pct() {
	awk '/^> / {print $NF}' "$1" | sort -g | awk '
		{v[NR] = $1}
		function at(p,  i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
		END { if (NR == 0) print "nan nan nan 0"; else printf "%s %s %s %d\n", at(0.50), at(0.99), at(0.999), NR }'
}

us() { awk -v s="$1" 'BEGIN { if (s == "" || s == "nan") print "n/a"; else printf "%.0f", s * 1e6 }'; }

declare -A QPS STATS LINE LABEL PORT QUERY DATA
LOAD_RSS_MAX=0
note_rss() {
	if ((RUN_RSS_MAX > LOAD_RSS_MAX)); then LOAD_RSS_MAX=$RUN_RSS_MAX; fi
}

# target KEY LABEL PORT "QNAME QTYPE": something to measure.
target() {
	LABEL[$1]=$2 PORT[$1]=$3 QUERY[$1]=$4
	DATA[$1]=$(datafile "$1" "$4")
}

# peak KEY ROUND: one saturating run; KEY keeps its best round (highest QPS).
peak() {
	local key=$1 out=$TMP/out/$1.peak$2 st qps lost sent rc
	run_dnsperf "$out" "${PORT[$key]}" "${DATA[$key]}" "$PEAK_SECS"
	note_rss
	st=$(perf_stats "$out")
	read -r qps _ _ _ lost sent _ rc <<<"$st"
	[ -n "$qps" ] || die "could not parse dnsperf output for $key: $(head -c 600 "$out")"
	if [ "${lost:-0}" != 0 ]; then
		NOTES+=("${LABEL[$key]} \`${QUERY[$key]}\`: lost $lost of $sent queries in a saturating run")
	fi
	case $rc in NOERROR_*"(100.00%)"*) ;; *) NOTES+=("${LABEL[$key]} \`${QUERY[$key]}\`: response codes ${rc//_/ }") ;; esac
	if [ -z "${STATS[$key]:-}" ] || awk -v a="$qps" -v b="${QPS[$key]}" 'BEGIN {exit !(a > b)}'; then
		STATS[$key]=$st QPS[$key]=$qps
	fi
	log "  ${LABEL[$key]} ${QUERY[$key]}: $(printf '%.0f' "$qps") QPS (round $2)"
}

# tail_latency KEY RATE: a run at RATE QPS with per-query latencies (-v) for
# the percentiles; then KEY's table row.
tail_latency() {
	local key=$1 rate=$2 out=$TMP/out/$1.tail qps avg sd mx lost sent resp rc p50 p99 p999 n hlost
	run_dnsperf "$out" "${PORT[$key]}" "${DATA[$key]}" "$P99_SECS" -Q "$rate" -v
	note_rss
	read -r p50 p99 p999 n <<<"$(pct "$out")"
	read -r _ _ _ _ hlost _ _ _ <<<"$(perf_stats "$out")"
	if [ "${hlost:-0}" != 0 ]; then
		NOTES+=("${LABEL[$key]} \`${QUERY[$key]}\`: lost $hlost queries at $rate QPS")
	fi
	read -r qps avg sd mx lost sent resp rc <<<"${STATS[$key]}"
	LINE[$key]=$(printf '| %s | `%s` | %.0f | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s | %s |' \
		"${LABEL[$key]}" "${QUERY[$key]}" "$qps" "$(us "$avg")" "$(us "$sd")" "$(us "$mx")" \
		"$rate" "$(us "$p50")" "$(us "$p99")" "$(us "$p999")" "$lost" "$hlost" "$resp" "${rc//_/ }")
	log "  ${LABEL[$key]} ${QUERY[$key]}: at $rate QPS p50 $(us "$p50") us, p99 $(us "$p99") us ($n samples)"
}

half() { awk -v a="$1" -v b="${2:-$1}" 'BEGIN {m = (a < b ? a : b); h = int(m / 2); print (h < 100 ? 100 : h)}'; }

# compare CKEY FKEY: interleaved saturating rounds of both (best of
# ROUNDS), then percentiles for both at the same rate: half the lower peak.
compare() {
	local r
	log "${QUERY[$1]} vs ${QUERY[$2]}"
	for r in $(seq 1 "$ROUNDS"); do
		peak "$1" "$r"
		peak "$2" "$r"
	done
	r=$(half "${QPS[$1]}" "${QPS[$2]}")
	tail_latency "$1" "$r"
	tail_latency "$2" "$r"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ok() { awk -v r="$1" 'BEGIN { print (r + 0 >= 0.8 ? "yes" : "**no**") }'; }

HEADER='| Server | Query | QPS (peak) | avg µs | sd µs | max µs | rate for pct | p50 µs | p99 µs | p99.9 µs | lost (peak/pct) | resp bytes | rcodes |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'

SHAPES=(svcA svcSRV rfcSRV nodeA)
declare -A CQ FQ SHAPE_NAME
SHAPE_NAME=([svcA]="service A" [svcSRV]="service SRV" [rfcSRV]="RFC 2782 SRV" [nodeA]="node A")
CQ=([svcA]="web.service.consul A" [svcSRV]="web.service.consul SRV" [rfcSRV]="_web._v1.service.consul SRV" [nodeA]="n1.node.consul A")
FQ=([svcA]="web.service.static.test A" [svcSRV]="web.service.static.test SRV" [rfcSRV]="_web._v1.service.static.test SRV" [nodeA]="n1.node.static.test A")

log "phase 1: 3 instances, .consul vs file"
cpu_snapshot CPU0
for s in "${SHAPES[@]}"; do
	target "c1_$s" ".consul" "$DNS_PORT" "${CQ[$s]}"
	target "f1_$s" "file" "$FILE_PORT" "${FQ[$s]}"
	compare "c1_$s" "f1_$s"
done
LOAD1_RSS=$LOAD_RSS_MAX

# ---------------------------------------------------------------- large catalog
log "phase 2: populating $SERVICES services, $BIG_INSTANCES instances of big"
POP_START=$(date +%s.%N)
POP_OUT=$("$TMP/populate" -http "$HTTP" -services "$SERVICES" -existing 1 -big big \
	-big-instances "$BIG_INSTANCES" -workers 8 -timeout 120s 2>&1) || {
	echo "$POP_OUT" >&2
	die "populate failed"
}
POP_SECS=$(awk -v a="$POP_START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
echo "$POP_OUT" | sed 's/^/  populate: /' >&2
sleep 2
RSS_POP=$(rss_kb)

if command -v dig >/dev/null; then
	udp=$(dig +tries=1 +time=2 +bufsize=4096 +ignore -p "$DNS_PORT" @127.0.0.1 big.service.consul A)
	tcp=$(dig +tries=1 +time=5 +tcp +noall +answer -p "$DNS_PORT" @127.0.0.1 big.service.consul A | grep -c 'IN[[:space:]]A' || true)
	udpn=$(grep -c 'IN[[:space:]]A[[:space:]]' <<<"$(sed -n '/ANSWER SECTION/,/^$/p' <<<"$udp")" || true)
	tc=no
	grep -q 'flags:[^;]* tc' <<<"$udp" && tc=yes
	NOTES+=("big.service.consul A: UDP with EDNS0 4096 gave $udpn answers (TC=$tc), TCP gave $tcp answers (of $BIG_INSTANCES)")
fi

LOAD_RSS_MAX=0
log "phase 3: large catalog"
for s in "${SHAPES[@]}"; do
	target "c2_$s" ".consul" "$DNS_PORT" "${CQ[$s]}"
	target "f2_$s" "file" "$FILE_PORT" "${FQ[$s]}"
	compare "c2_$s" "f2_$s"
done
target "c2_bigA" ".consul" "$DNS_PORT" "big.service.consul A"
target "f2_bigA" "file" "$FILE_PORT" "big.service.static.test A"
compare "c2_bigA" "f2_bigA"
target "c2_bigSRV" ".consul" "$DNS_PORT" "_big._v1.service.consul SRV"
target "f2_bigSRV" "file" "$FILE_PORT" "_big._v1.service.static.test SRV"
compare "c2_bigSRV" "f2_bigSRV"
LOAD2_RSS=$LOAD_RSS_MAX
HWM=$(hwm_kb)
# VmHWM and VmRSS are updated lazily per thread: report the larger.
((LOAD2_RSS > HWM)) && HWM=$LOAD2_RSS
cpu_snapshot CPU1
OTHERS_PCT=$(awk -v a="$CPU0" -v b="$CPU1" 'BEGIN {
	split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
	o = (y[1] - x[1]) - (y[3] - x[3]); if (o < 0) o = 0
	printf "%.0f", (t > 0 ? 100 * o / t : 0) }')

# ---------------------------------------------------------------- report
METRICS=$(curl -s --max-time 2 "http://127.0.0.1:$PROM_PORT/metrics" || true)
hits=$(awk '/^coredns_coordcatalog_instance_cache_hits_total/ {print $2}' <<<"$METRICS")
misses=$(awk '/^coredns_coordcatalog_instance_cache_misses_total/ {print $2}' <<<"$METRICS")
[ -n "$hits" ] && NOTES+=("instance cache: ${hits} hits, ${misses:-?} misses")
errs=$(grep -c -E '\[ERROR\]|panic' "$TMP/server.log" || true)
[ "$errs" -gt 0 ] && NOTES+=("server log has $errs error lines, e.g. $(grep -m1 -E '\[ERROR\]|panic' "$TMP/server.log" | cut -c1-200)")

REPORT=$TMP/report.md
{
	echo "# coredns-coord DNS benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo dev) ·" \
		"$(nproc) CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)) · dnsperf $DNSPERF_VERSION" \
		"\`-c $CLIENTS -T $THREADS -q $OUTSTANDING$([ "$EDNS" = 1 ] && echo ' -e')\`, peak: best of $ROUNDS interleaved ${PEAK_SECS}s runs; percentiles: one ${P99_SECS}s run at \`-Q\` half the peak (for a pair: half the lower of the two peaks, the same rate for both), per-query latencies from \`-v\`." \
		"Server and dnsperf share the machine; one process serves both zones." \
		"Other work on the machine: ${BUSY_START}% CPU busy just before the start; ${OTHERS_PCT}% of all CPU time during the measurements went to processes other than the server and dnsperf (load average at start $LOAD_START)." \
		"$( [ "$OTHERS_PCT" -gt 10 ] && echo '**The machine was shared: treat these numbers as noisy.**')"
	echo
	echo "## .consul vs file plugin (catalog: web × 3)"
	echo
	echo "| Shape | .consul QPS | file QPS | ratio | ≥ 0.8x | .consul p99 µs | file p99 µs |"
	echo "|---|---:|---:|---:|:---:|---:|---:|"
	for s in "${SHAPES[@]}"; do
		r=$(ratio "${QPS[c1_$s]}" "${QPS[f1_$s]}")
		cp99=$(cut -d'|' -f10 <<<"${LINE[c1_$s]}" | tr -d ' ')
		fp99=$(cut -d'|' -f10 <<<"${LINE[f1_$s]}" | tr -d ' ')
		printf '| %s | %.0f | %.0f | %s | %s | %s | %s |\n' "${SHAPE_NAME[$s]}" "${QPS[c1_$s]}" "${QPS[f1_$s]}" "$r" "$(ok "$r")" "$cp99" "$fp99"
	done
	echo
	echo "$HEADER"
	for s in "${SHAPES[@]}"; do echo "${LINE[c1_$s]}"; echo "${LINE[f1_$s]}"; done
	echo
	echo "## Large catalog ($SERVICES services, big × $BIG_INSTANCES; populated in ${POP_SECS}s)"
	echo
	echo "| Shape | .consul QPS | file QPS | ratio | ≥ 0.8x | .consul vs small catalog | ratio vs small catalog |"
	echo "|---|---:|---:|---:|:---:|---:|---:|"
	for s in "${SHAPES[@]}"; do
		r=$(ratio "${QPS[c2_$s]}" "${QPS[f2_$s]}")
		printf '| %s (web) | %.0f | %.0f | %s | %s | %s | %s |\n' "${SHAPE_NAME[$s]}" "${QPS[c2_$s]}" "${QPS[f2_$s]}" \
			"$r" "$(ok "$r")" "$(ratio "${QPS[c2_$s]}" "${QPS[c1_$s]}")" \
			"$(ratio "$r" "$(ratio "${QPS[c1_$s]}" "${QPS[f1_$s]}")")"
	done
	for s in bigA bigSRV; do
		r=$(ratio "${QPS[c2_$s]}" "${QPS[f2_$s]}")
		printf '| %s (big × %s) | %.0f | %.0f | %s | %s | – | – |\n' "$([ $s = bigA ] && echo 'service A' || echo 'RFC 2782 SRV')" \
			"$BIG_INSTANCES" "${QPS[c2_$s]}" "${QPS[f2_$s]}" "$r" "$(ok "$r")"
	done
	echo
	echo "$HEADER"
	for s in "${SHAPES[@]}" bigA bigSRV; do echo "${LINE[c2_$s]}"; echo "${LINE[f2_$s]}"; done
	echo
	echo "\".consul vs small catalog\": this peak over the same query's peak with web × 3 only (1.00 = flat);" \
		"\"ratio vs small catalog\" divides the .consul/file ratios of both runs, which cancels drift in what else the machine" \
		"was doing (the static zone does not change). The file zone also holds big × $BIG_INSTANCES; CoreDNS trims its" \
		"over-sized answers to the EDNS0 buffer after building them in full."
	echo
	echo "## Memory (VmRSS of the server)"
	echo
	echo "| idle (empty catalog) | under load (web × 3) | after populating (idle) | under load (large) | peak (VmHWM) |"
	echo "|---:|---:|---:|---:|---:|"
	echo "| $(mib "$RSS_IDLE") | $(mib "$LOAD1_RSS") | $(mib "$RSS_POP") | $(mib "$LOAD2_RSS") | $(mib "$HWM") |"
	echo
	echo "Total runtime $(($(date +%s) - START_TS))s."
	if [ "${#NOTES[@]}" -gt 0 ]; then
		echo
		echo "## Notes"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
} >"$REPORT"

mkdir -p "$(dirname "$RESULTS")"
cp "$REPORT" "$RESULTS"
cat "$REPORT"
log "written to $RESULTS"
