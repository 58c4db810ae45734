#!/usr/bin/env bash
# Serving throughput of `layerroute serve`, all blocks open vs routed, in ONE server process
# (--parallel 8): rounds that run 1, 4 and 8 concurrent streams each as an all-open batch
# and a routed batch (the per-request override "layerroute": {"gates": ...}), alternating,
# so both, and every level, see the same phases of the machine (bench/serve_bench.mjs).
# Prints a Markdown table, the CPU and the load average. Not part of CI.
#   bench/serve_bench.sh --model DIR [--adapters DIR] [--routed GATES] [--tokens 64]
#                        [--rounds 5] [--threads N] [--levels 1,4,8] [--parallel 8] [--json]
#                        [--bin BINARY]
# GATES defaults to a mask closing blocks 8-16 of 24 (the band the routers start closed);
# with --adapters DIR the routers decide instead (--routed router). BINARY: another build of
# layerroute (default build/layerroute).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/build/layerroute"
model="" adapters="" routed="" tokens=64 rounds=5 threads=0 levels="1,4,8" parallel=8 json=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --adapters) adapters="$2"; shift 2 ;;
    --routed) routed="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --levels) levels="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --json) json=(--json); shift ;;
    --bin) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "serve_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] || { echo "serve_bench: --model DIR is required" >&2; exit 2; }
extra=()
if [ -n "$adapters" ]; then
  extra=(--adapters "$adapters")
  [ -n "$routed" ] || routed=router
fi
[ -n "$routed" ] || routed="mask:111111110000000001111111"
tmp="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$bin" serve --model "$model" "${extra[@]}" --gates open --port 0 --parallel "$parallel" \
  --ctx 1024 --threads "$threads" 2>"$tmp/serve.log" >/dev/null &
pid=$!
for _ in $(seq 1200); do grep -q "serve: ready" "$tmp/serve.log" && break; sleep 0.1; done
grep -q "serve: ready" "$tmp/serve.log" || { cat "$tmp/serve.log" >&2; exit 1; }
port="$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$tmp/serve.log")"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
  "avx512_bf16: $(grep -qw avx512_bf16 /proc/cpuinfo && echo yes || echo no)," \
  "$("$bin" version | sed -n 's/^kernels: //p')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
node "$here/bench/serve_bench.mjs" "http://127.0.0.1:$port" --routed "$routed" --tokens "$tokens" \
  --levels "$levels" --rounds "$rounds" "${json[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$pid"; wait "$pid" || true; pid=""
