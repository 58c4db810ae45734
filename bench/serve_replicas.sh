#!/usr/bin/env bash
# Two `layerroute serve` replicas behind nginx (Debian's nginx or nginx-light) on loopback:
# conversations are pinned to a replica by their X-Session-Id header (so each replica's
# slots reuse their KV cache), /health is the readiness probe, and every answer through the
# balancer is checked against a single-server run. Not part of CI.
#   bench/serve_replicas.sh --model DIR [--adapters DIR] [--clients N] [--parallel N]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/build/layerroute"
model="" adapters="" clients=8 parallel=4
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --adapters) adapters="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "serve_replicas: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] || { echo "serve_replicas: --model DIR is required" >&2; exit 2; }
command -v nginx >/dev/null || { echo "serve_replicas: needs nginx (apt-get install nginx-light)" >&2; exit 2; }
[ -x "$bin" ] || { echo "serve_replicas: build $bin first" >&2; exit 2; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

extra=()
[ -n "$adapters" ] && extra=(--adapters "$adapters")
ports=()
for r in 1 2; do
  "$bin" serve --model "$model" "${extra[@]}" --port 0 --parallel "$parallel" --threads 1 \
    2>"$tmp/replica$r.log" >/dev/null &
  pids+=($!)
done
for r in 1 2; do
  for _ in $(seq 600); do grep -q "serve: ready" "$tmp/replica$r.log" && break; sleep 0.1; done
  grep -q "serve: ready" "$tmp/replica$r.log" || { cat "$tmp/replica$r.log"; exit 1; }
  ports+=("$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$tmp/replica$r.log")")
done

lb_port=$(( 20000 + RANDOM % 20000 ))
mkdir -p "$tmp/nginx"
sed -e "s|@TMP@|$tmp/nginx|g" -e "s|@LB_PORT@|$lb_port|" -e "s|@R1@|${ports[0]}|" \
    -e "s|@R2@|${ports[1]}|" "$here/bench/serve_nginx.conf" > "$tmp/nginx/nginx.conf"
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$lb_port/health" >/dev/null && break; sleep 0.1; done

echo "replicas on ports ${ports[*]}, nginx on $lb_port"
node "$here/bench/serve_replicas.mjs" "http://127.0.0.1:$lb_port" "http://127.0.0.1:${ports[0]}" "$clients"
for r in 1 2; do
  echo "replica $r served $(grep -c ' 200 chat' "$tmp/replica$r.log") chat requests"
done
