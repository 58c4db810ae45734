#!/usr/bin/env bash
# Training speed against the PyTorch peer, same machine, same session, same thread count:
# `layerroute bench-train` and bench/pytorch/train_peer.py (Debian python3-torch 1.13, eager
# fp32) at 1x512 and 4x128 on a random Qwen2.5-0.5B-shaped model, one process per shape so
# each peak RSS is its own. Both run with OMP_WAIT_POLICY=PASSIVE (see shared/MACHINE.md).
# Ours also runs with OPENBLAS_THREAD_TIMEOUT=4 (the binary sets it: idle OpenBLAS workers
# sleep at once instead of yielding through our kernels). The peer keeps OpenBLAS's default,
# the faster setting for it, so that its run is its best.
#
#   bench/train_peer.sh [MODEL_DIR]    env: THREADS (default: all cores), STEPS (3),
#                                      BUILD (build), OUT (/tmp/lr-train-peer)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-/tmp/tp-qwen}
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-3}
BUILD=${BUILD:-build}
OUT=${OUT:-/tmp/lr-train-peer}
LR="$BUILD/layerroute"
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE

if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "installing python3-torch (Debian) ..." >&2
  apt-get install -y python3-torch >/dev/null
fi
[[ -x "$LR" ]] || { echo "build first: $LR missing" >&2; exit 1; }
if [[ ! -f "$MODEL/model.safetensors" ]]; then
  echo "creating the random model $MODEL ..." >&2
  if [[ ! -d tests/js/node_modules ]]; then (cd tests/js && npm ci --no-audit --no-fund >/dev/null); fi
  "$LR" init-random --out "$MODEL" --dtype bf16
fi
mkdir -p "$OUT"
echo "load: $(uptime | sed 's/.*load average: //')  threads: $THREADS  steps: $STEPS" | tee "$OUT/load.txt"

shapes=("1 512" "4 128")
for s in "${shapes[@]}"; do
  read -r R T <<<"$s"
  for open in "" "--all-open"; do
    tag="${R}x${T}${open:+-open}"
    "$LR" bench-train --model "$MODEL" --rows "$R" --seq "$T" --steps "$STEPS" \
      --threads "$THREADS" $open --json "$OUT/ours-$tag.json" >/dev/null
    "$PY" bench/pytorch/train_peer.py --model "$MODEL" --rows "$R" --seq "$T" --steps "$STEPS" \
      --threads "$THREADS" $open >"$OUT/torch-$tag.json"
  done
done
echo "load after: $(uptime | sed 's/.*load average: //')" | tee -a "$OUT/load.txt"

"$PY" - "$OUT" <<'EOF'
import json, sys, glob, os
out = sys.argv[1]
print(f"{'shape':<14}{'ours tok/s':>11}{'torch tok/s':>12}{'ratio':>7}{'ours RSS':>10}"
      f"{'torch RSS':>10}{'open':>6}{'GFLOP/s':>9}{'limit':>7}")
env = {}
limits = set()
for tag in ["1x512", "1x512-open", "4x128", "4x128-open"]:
    try:
        a = json.load(open(f"{out}/ours-{tag}.json"))
        b = json.load(open(f"{out}/torch-{tag}.json"))
    except FileNotFoundError:
        continue
    gb = lambda x: f"{x['peak_rss_bytes'] / 2**30:.2f}G"
    env = a.get("env", {})
    limits.add(f"{a['limit_name']} {a['limit_gflops']:.0f} GFLOP/s")
    print(f"{tag:<14}{a['tok_s']:>11.1f}{b['tok_s']:>12.1f}{a['tok_s'] / b['tok_s']:>6.2f}x"
          f"{gb(a):>10}{gb(b):>10}{a['blocks_open']:>6.2f}{a['gflops']:>9.1f}"
          f"{100 * a['limit_share']:>6.0f}%")
print("limit: our share of " + "; ".join(sorted(limits)) + " (measured in each run)")
print("ours ran with " + ", ".join(f"{k}={v or '(unset)'}" for k, v in env.items()) +
      "; torch with OMP_WAIT_POLICY=PASSIVE and OpenBLAS's default timeout")
EOF
