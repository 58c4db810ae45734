#!/usr/bin/env bash
# Benchmarks layerroute against a PyTorch peer on this machine, same model, same threads.
#   bench/run_all.sh [MODEL_DIR] [THREADS]
# Idempotent: installs Debian's python3-torch if missing, builds the random Qwen2.5-0.5B
# model (bf16) if MODEL_DIR does not exist, then runs `layerroute bench` (bf16 with training,
# q8, and bf16 with a fixed mask for routed vs all-open) and bench/pytorch/peer.py (fp32),
# prints a table with ratios ours / PyTorch, then the training comparison (train_peer.sh).
# Timings on a shared machine are noisy: the load average is printed with the results.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODEL="${1:-/tmp/perf-qwen}"
THREADS="${2:-$(nproc)}"
OUT="${OUT:-$ROOT/build/bench}"
LR="$ROOT/build/layerroute"
PY=/usr/bin/python3  # Debian's torch lives in the system Python, not a pyenv one
mkdir -p "$OUT"

if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "== installing python3-torch (large, once)"
  apt-get install -y python3-torch python3-numpy >/dev/null
fi
if [[ ! -x "$LR" ]]; then
  echo "== building"
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$ROOT/build" layerroute
fi
if [[ ! -f "$MODEL/model.safetensors" ]]; then
  echo "== creating random Qwen2.5-0.5B model at $MODEL"
  [[ -d "$ROOT/tests/js/node_modules" ]] || (cd "$ROOT/tests/js" && npm ci)
  "$LR" init-random --out "$MODEL" --dtype bf16
fi

echo "== $(date -Is)  $(uptime)"
echo "== layerroute bench --weights-dtype bf16 (with training 1x512 and 4x128)"
"$LR" bench --model "$MODEL" --threads "$THREADS" --weights-dtype bf16 --json "$OUT/ours_bf16.json"
echo "== layerroute bench --weights-dtype q8"
"$LR" bench --model "$MODEL" --threads "$THREADS" --weights-dtype q8 --no-train --json "$OUT/ours_q8.json"
echo "== layerroute bench --weights-dtype bf16, 6 of 24 blocks closed by a mask"
"$LR" bench --model "$MODEL" --threads "$THREADS" --weights-dtype bf16 --no-train \
  --gates mask:111011101110111011101110 --json "$OUT/ours_bf16_mask.json"
echo "== PyTorch peer (fp32, OMP_WAIT_POLICY=PASSIVE)"
OMP_WAIT_POLICY=PASSIVE "$PY" "$ROOT/bench/pytorch/peer.py" --model "$MODEL" --threads "$THREADS" \
  --json "$OUT/pytorch.json"
echo "== $(uptime)"

"$PY" - "$OUT" <<'PYEOF'
import json, sys
d = sys.argv[1]
bf, q8, pt = (json.load(open(f"{d}/{n}.json")) for n in ("ours_bf16", "ours_q8", "pytorch"))
rows = [("prefill 128 (tok/s)", "prefill_128_tok_s"), ("prefill 512 (tok/s)", "prefill_512_tok_s"),
        ("decode after 512 (tok/s)", "decode_tok_s")]
print(f"\nmemory read {bf['mem_read_gb_s']:.1f} GB/s, sgemm {bf['sgemm_gflop_s']:.0f} GFLOP/s, "
      f"{bf['threads']} threads")
print(f"| figure | ours bf16 | ours q8 | PyTorch fp32 | bf16 / PyTorch | q8 / PyTorch |")
print(f"|---|---|---|---|---|---|")
for label, k in rows:
    print(f"| {label} | {bf[k]:.1f} | {q8[k]:.1f} | {pt[k]:.2f} | {bf[k] / pt[k]:.1f}x | {q8[k] / pt[k]:.1f}x |")
print(f"| peak RSS (MiB) | {bf['peak_rss_bytes'] >> 20} | {q8['peak_rss_bytes'] >> 20} | "
      f"{pt['peak_rss_bytes'] >> 20} | | |")
print(f"\nshares of the limits (bf16): prefill 512 {100 * bf['prefill_512_share_of_peak']:.0f} % of "
      f"the {bf['prefill_512_peak']} peak, decode {100 * bf['decode_share_of_bandwidth']:.0f} % of the "
      f"bandwidth ceiling "
      f"({bf['decode_ceiling_tok_s']:.1f} tok/s); q8 decode {100 * q8['decode_share_of_bandwidth']:.0f} % "
      f"({q8['decode_ceiling_tok_s']:.1f} tok/s)")
print(f"measured beside each figure: bf16 prefill 512 {100 * bf['prefill_512_share_of_sgemm_beside']:.0f} % "
      f"of the sgemm just before it, q8 {100 * q8['prefill_512_share_of_sgemm_beside']:.0f} %; decode bf16 "
      f"{100 * bf['decode_share_of_bandwidth_beside']:.0f} % of the bandwidth probed every 8 tokens "
      f"({bf['decode_bandwidth_beside_gb_s']:.1f} GB/s), q8 {100 * q8['decode_share_of_bandwidth_beside']:.0f} % "
      f"({q8['decode_bandwidth_beside_gb_s']:.1f} GB/s)")
for shape, t in bf.get("training", {}).items():
    print(f"training {shape}: {t['tok_s']:.1f} tok/s, {100 * t['limit_share']:.0f} % of "
          f"{t['limit_name']}, "
          f"peak RSS {t['peak_rss_bytes'] / 2**30:.2f} GiB")
mk = json.load(open(f"{d}/ours_bf16_mask.json"))
for k, v in mk.get("routed_vs_open", {}).items():
    print(f"mask 6/24 closed, {k}: saving {100 * v['saving_realised']:.0f} % realised vs "
          f"{100 * v['saving_predicted']:.0f} % predicted")
PYEOF


echo "== training against the PyTorch peer (bench/train_peer.sh)"
OUT="$OUT/train" "$ROOT/bench/train_peer.sh" "$MODEL"
