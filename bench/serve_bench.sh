#!/usr/bin/env bash
# Serving throughput of `layerroute serve`, routed vs all blocks open, in one run: for each
# gate setting a server with --parallel 8 is started and driven with 1, 4 and 8 concurrent
# streams (bench/serve_bench.mjs). Prints a Markdown table. Not part of CI.
#   bench/serve_bench.sh --model DIR [--adapters DIR] [--routed GATES] [--tokens N] [--threads N]
#                        [--levels 1,4,8] [--parallel 8]
# GATES defaults to a mask closing blocks 8-16 of 24 (the band the routers start closed);
# with --adapters DIR the routers decide instead (--routed router).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/build/layerroute"
model="" adapters="" routed="mask:111111110000000001111111" tokens=32 threads=0 levels="1,4,8" parallel=8
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --adapters) adapters="$2"; shift 2 ;;
    --routed) routed="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --levels) levels="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "serve_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] || { echo "serve_bench: --model DIR is required" >&2; exit 2; }
tmp="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
extra=()
[ -n "$adapters" ] && extra=(--adapters "$adapters")

echo "| gates | streams | generated tok/s | decode tok/s | TTFT s | blocks run | predicted saving % |"
echo "|---|---|---|---|---|---|---|"
for gates in open "$routed"; do
  "$bin" serve --model "$model" "${extra[@]}" --gates "$gates" --port 0 --parallel "$parallel" \
    --ctx 1024 --threads "$threads" 2>"$tmp/serve.log" >/dev/null &
  pid=$!
  for _ in $(seq 1200); do grep -q "serve: ready" "$tmp/serve.log" && break; sleep 0.1; done
  port="$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$tmp/serve.log")"
  node "$here/bench/serve_bench.mjs" "http://127.0.0.1:$port" "$tokens" "$levels" |
    while read -r line; do
      node -e 'const j = JSON.parse(process.argv[1]); const g = process.argv[2];
        console.log(`| ${g} | ${j.concurrency} | ${j.aggregate_tok_s.toFixed(1)} | ${j.decode_tok_s.toFixed(1)} | ${j.ttft_s.toFixed(3)} | ${j.blocks_run}/${j.blocks} | ${j.predicted_saving_pct.toFixed(1)} |` +
                    (j.short_streams ? ` (${j.short_streams} streams stopped early)` : ""));' "$line" "$gates"
    done
  kill -TERM "$pid"; wait "$pid" || true; pid=""
done
