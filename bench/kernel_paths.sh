#!/usr/bin/env bash
# The kernel paths side by side on this CPU, one process each, alternating, in one run:
# `layerroute bench --no-train` for each weights dtype on every path the CPU has (LR_CPU),
# then `layerroute bench-train` 1x512 with the frozen GEMMs in f32 (OpenBLAS, as on CPUs
# without BF16) and in bf16. Prints a table of tok/s with each path's ratio to avx2, the
# peaks bench probed, and the load average (a figure is only as good as the quiet).
#
#   bench/kernel_paths.sh [MODEL_DIR=/tmp/perf-qwen]   env: ROUNDS (2), BUILD (build),
#                                                      OTHER (a second layerroute binary to
#                                                      run on the avx2 path beside ours)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-/tmp/perf-qwen}
ROUNDS=${ROUNDS:-2}
LR="${BUILD:-build}/layerroute"
OUT=$(mktemp -d /tmp/lr-paths.XXXXXX)
[[ -x "$LR" ]] || { echo "build first: $LR missing" >&2; exit 1; }
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
if [[ ! -f "$MODEL/model.safetensors" ]]; then
  [[ -d tests/js/node_modules ]] || (cd tests/js && npm ci --no-audit --no-fund >/dev/null)
  "$LR" init-random --out "$MODEL" --dtype bf16
fi
best=$("$LR" version | sed -n 's/^kernels: \([a-z0-9]*\) .*/\1/p')
case "$best" in
  avx512bf16) paths="avx2 avx512 avx512bf16" ;;
  avx512) paths="avx2 avx512" ;;
  *) paths="avx2" ;;
esac
echo "== $(date -Is)  $(uptime)"
"$LR" version
for r in $(seq "$ROUNDS"); do
  for dt in bf16 q8 f32; do
    for p in $paths; do
      LR_CPU=$p "$LR" bench --model "$MODEL" --weights-dtype "$dt" --no-train --reps 3 \
        --decode-tokens 64 --json "$OUT/$dt-$p-$r.json" >/dev/null
    done
    if [[ -n "${OTHER:-}" ]]; then
      "$OTHER" bench --model "$MODEL" --weights-dtype "$dt" --no-train --reps 3 \
        --decode-tokens 64 --json "$OUT/$dt-other-$r.json" >/dev/null
    fi
  done
  for fm in f32 bf16; do
    [[ $fm == bf16 && $best != avx512bf16 ]] && continue
    "$LR" bench-train --rows 1 --seq 512 --steps 2 --frozen-matmul "$fm" \
      --json "$OUT/train-$fm-$r.json" >/dev/null
  done
done
echo "== $(date -Is)  $(uptime)"
# Best of the rounds per cell.
best_of() { jq -s "map($2) | max" "$OUT"/$1-*.json; }
printf '%-6s %-11s %12s %12s %12s %16s\n' dtype path "prefill128" "prefill512" "decode" "512 vs avx2"
for dt in bf16 q8 f32; do
  base=$(best_of "$dt-avx2" .prefill_512_tok_s)
  for p in $paths ${OTHER:+other}; do
    p512=$(best_of "$dt-$p" .prefill_512_tok_s)
    printf '%-6s %-11s %12.1f %12.1f %12.1f %15.2fx\n' "$dt" "$p" \
      "$(best_of "$dt-$p" .prefill_128_tok_s)" "$p512" "$(best_of "$dt-$p" .decode_tok_s)" \
      "$(awk -v a="$p512" -v b="$base" 'BEGIN { print a / b }')"
  done
done
jq -r '"peaks (GFLOP/s): avx2 FMA \(.peak_fma_avx2_gflop_s|floor), avx512 FMA \(.peak_fma_avx512_gflop_s|floor), bf16 dot \(.peak_bf16_dot_gflop_s|floor); our GEMM \(.gemm_kernel) \(.gemm_gflop_s|floor); sgemm \(.sgemm_gflop_s|floor); memory \(.mem_read_gb_s|floor) GB/s"' \
  "$OUT/bf16-$(echo $paths | awk '{print $NF}')-1.json"
for fm in f32 bf16; do
  ls "$OUT"/train-$fm-*.json >/dev/null 2>&1 || continue
  printf 'training 1x512, frozen GEMMs %-4s: %6.1f tok/s, peak RSS %.2f GB\n' "$fm" \
    "$(best_of "train-$fm" .tok_s)" "$(best_of "train-$fm" .peak_rss_bytes | awk '{print $1/1e9}')"
done
echo "JSON: $OUT"
