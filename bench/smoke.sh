#!/usr/bin/env bash
# CI smoke test of the benchmark harness (issue 8): seed `small` on SQLite in
# a temporary directory, then run every scenario for 5 seconds. Fails only on
# errors (non-2xx, GraphQL errors, per-item errors) or a missed SQL
# statement-count target -- never on timing. Scenarios this server build does
# not support yet are printed as SKIP and do not fail the run.
# Needs target/release/orgraph and target/release/orgraph-bench:
#   cargo build --release -p orgraph -p orgraph-bench
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unset DATABASE_URL
target/release/orgraph-bench --data-dir "$dir" seed --scale small
target/release/orgraph-bench --data-dir "$dir" run --check \
  --duration 5s --warmup 1s --concurrency 32 --admins 32 --out "$dir/results" \
  || { echo "--- server log"; tail -50 "$dir/server.log" || true; exit 1; }
