#!/usr/bin/env bash
# hyper on asyncio's loop against hyper on tokio's current-thread runtime, with wrk (never
# in `cargo test`/CI). The same hyper HTTP/1.1 hello service (benches/hyper/main.rs): 64
# keep-alive connections, a 13-byte body. The server runs on CPU 0, wrk on CPU 1; the two
# runtimes alternate, ROUNDS times each, and the script prints each run and the medians:
# requests/s and the server's CPU time per request (utime + stime from /proc, in µs).
#
#   scripts/bench_hyper.sh [ROUNDS (5)] [SECONDS per run (10)] [THREADS (1)]
#
# THREADS=2 compares the servers on two threads: two of asyncio's loops (a `Runtime` with
# `loops(2)`, one `SO_REUSEPORT` listener per loop) against tokio's multi-thread runtime with 2
# workers. The machine has 2 cores, so then nothing is pinned: the two server threads and wrk
# share them, alike for both runtimes.
#
# On a shared, busy machine the absolute numbers move a lot; the ratio of the medians,
# measured in the same run, is what to read.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-10}
threads=${3:-1}
port=3180
if [ "$threads" = 2 ]; then
    ours=asyncio2 theirs=tokio-mt2
else
    ours=asyncio theirs=tokio
fi

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    apt-get install -y wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
fi
bin=$(cargo bench --no-run --features hyper --bench hyper_bench 2>&1 |
    sed -n 's/.*Executable .*(\(.*hyper_bench-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the bench binary" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
ncpu=$(nproc)
server_cpu=0
client_cpu=$((ncpu > 1 ? 1 : 0))
if [ "$threads" = 2 ]; then
    server_cpu=0-$((ncpu - 1))
    client_cpu=0-$((ncpu - 1))
fi

# cpu_ticks PID: the process's utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME: one wrk run against a fresh server; prints "NAME req/s µs-cpu/req".
run() {
    taskset -c "$server_cpu" "$bin" "$1" "$port" &
    local pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    # Warm up (connections made, pages touched), then measure.
    taskset -c "$client_cpu" wrk -t1 -c64 -d2s "http://127.0.0.1:$port/" >/dev/null
    local before
    before=$(cpu_ticks "$pid")
    local out
    out=$(taskset -c "$client_cpu" wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$port/")
    local after
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local reqs
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    local rps
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    local errors
    errors=$(echo "$out" | grep -c "Socket errors\|Non-2xx" || true)
    awk -v n="$1" -v rps="$rps" -v reqs="$reqs" -v t="$((after - before))" -v hz="$ticks" -v e="$errors" \
        'BEGIN { printf "%-9s %10.0f req/s %8.2f us-cpu/req%s\n", n, rps, t / hz * 1e6 / reqs, (e > 0 ? "  (errors!)" : "") }'
}

results=$(mktemp)
echo "hyper hello, $ours against $theirs, wrk -t1 -c64 -d${secs}s, $rounds rounds; server on CPU $server_cpu, wrk on CPU $client_cpu"
for i in $(seq "$rounds"); do
    # Alternate which goes first, so a drift in the machine's load hits both alike.
    if [ $((i % 2)) -eq 1 ]; then order="$ours $theirs"; else order="$theirs $ours"; fi
    for rt in $order; do
        run "$rt" | tee -a "$results"
    done
done
# median COLUMN RUNTIME: the median of one column of the runs of one runtime.
median() { grep "^$2 " "$results" | awk -v c="$1" '{print $c}' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a_rps=$(median 2 "$ours"); t_rps=$(median 2 "$theirs")
a_cpu=$(median 4 "$ours"); t_cpu=$(median 4 "$theirs")
echo "medians:"
printf "%-9s %10.0f req/s %8.2f us-cpu/req\n" "$ours" "$a_rps" "$a_cpu"
printf "%-9s %10.0f req/s %8.2f us-cpu/req\n" "$theirs" "$t_rps" "$t_cpu"
awk -v ar="$a_rps" -v tr="$t_rps" -v ac="$a_cpu" -v tc="$t_cpu" -v o="$ours" -v t="$theirs" \
    'BEGIN { printf "%s/%s: requests/s x%.3f, CPU per request x%.3f\n", o, t, ar / tr, ac / tc }'
rm -f "$results"
