#!/usr/bin/env bash
# Instructions per members-page request, and per request of the baseline
# serving the same page, counted by callgrind: figures that do not move with
# the machine's load, unlike requests/s (issue 8's profile). Their quotient
# is the members-page/baseline ratio the CPU alone would give. Needs valgrind
# and python3, target/release/orgraph and orgraph-bench, and a seeded SQLite
# data dir:
#   target/release/orgraph-bench --data-dir bench-data/s seed --scale small
#   bench/callgrind.sh bench-data/s [requests=30]
# Leaves the profiles in <data-dir>/callgrind.out (members-page) and
# <data-dir>/callgrind-baseline.out (read them with
# callgrind_annotate --inclusive=yes FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(cd "$1" && pwd)
n=${2:-30}
port=18931

# Run "$@" under callgrind, drive it with callgrind_client.py MODE, keep the
# profile as $dir/$out and print its instructions per request.
profile() {
  local mode=$1 out=$2
  shift 2
  rm -f "$dir"/callgrind.out.*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out.%p" \
    "$@" >"$dir/callgrind-$mode.log" 2>&1 &
  local server=$!
  trap 'kill -INT $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 1
  done
  python3 bench/callgrind_client.py "$mode" "$port" "$n" "$dir"
  kill -INT $server
  wait $server 2>/dev/null || true
  trap - EXIT
  local f
  f=$(ls -S "$dir"/callgrind.out.* | head -1)
  mv "$f" "$dir/$out"
  rm -f "$dir"/callgrind.out.*
  local total
  total=$(callgrind_annotate "$dir/$out" 2>/dev/null \
    | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
  echo $((total / n))
}

db="sqlite://$dir/orgraph.db?mode=rwc"
ours=$(DATABASE_URL="$db" ORGRAPH_BIND=127.0.0.1:$port ORGRAPH_DATA_DIR="$dir" ORGRAPH_JWT_TTL=7200 \
  RUST_LOG=warn ORGRAPH_LOG_FORMAT=json ORGRAPH_RATE_LIMIT_GRAPHQL=0 \
  profile graphql callgrind.out target/release/orgraph serve)
base=$(DATABASE_URL="$db" profile baseline callgrind-baseline.out \
  target/release/orgraph-bench --data-dir "$dir" baseline --bind 127.0.0.1:$port)
echo "members-page: $ours instructions per request (callgrind, $n requests after 60 warm-up)"
echo "baseline:     $base instructions per request"
awk -v b="$base" -v o="$ours" 'BEGIN { printf "baseline/members-page by instructions: %.2f\n", b / o }'
