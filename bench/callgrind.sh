#!/usr/bin/env bash
# Instructions per members-page request, counted by callgrind: a figure that
# does not move with the machine's load, unlike requests/s (issue 8's
# profile). Needs valgrind and python3, target/release/orgraph and a seeded
# SQLite data dir:
#   target/release/orgraph-bench --data-dir bench-data/s seed --scale small
#   bench/callgrind.sh bench-data/s [requests=30]
# Prints Ir/request and leaves the profile in <data-dir>/callgrind.out
# (read it with: callgrind_annotate --inclusive=yes <data-dir>/callgrind.out).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(cd "$1" && pwd)
n=${2:-30}
port=18931
rm -f "$dir"/callgrind.out.*
DATABASE_URL="sqlite://$dir/orgraph.db?mode=rwc" ORGRAPH_BIND=127.0.0.1:$port \
  ORGRAPH_DATA_DIR="$dir" ORGRAPH_JWT_TTL=7200 RUST_LOG=warn ORGRAPH_LOG_FORMAT=json \
  ORGRAPH_RATE_LIMIT_GRAPHQL=0 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out.%p" \
  target/release/orgraph serve >"$dir/callgrind-server.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 1
done
python3 bench/callgrind_client.py "$port" "$n" "$dir"
kill -INT $server
wait $server 2>/dev/null || true
trap - EXIT
out=$(ls -S "$dir"/callgrind.out.* | head -1)
mv "$out" "$dir/callgrind.out"
rm -f "$dir"/callgrind.out.*
total=$(callgrind_annotate "$dir/callgrind.out" 2>/dev/null \
  | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
echo "members-page: $((total / n)) instructions per request (callgrind, $n requests after 60 warm-up)"
