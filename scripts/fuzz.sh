#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in build-fuzz/ and runs
# them.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   each target SECONDS (default 60) on its corpus
#   scripts/fuzz.sh --ci                     every committed crash input, then every target
#                                            20 s on its seed corpus; fails on any finding
#   scripts/fuzz.sh --list                   the target names
# Corpora live outside the repo in ${LR_FUZZ_CACHE:-~/.cache/layerroute/fuzz}/<target>/
# (seeds are rebuilt there from the fixtures and ../shared/data on every run); a crash,
# hang (over LR_FUZZ_TIMEOUT seconds per input, default 1; 10 in --ci, where the machine
# may be loaded), leak or sanitizer report is written to tests/fuzz/crashes/<target>/ to be
# committed as a regression case. Each run's log and final stats: <cache>/<target>/last.log
# (ci.log for --ci).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "$here/.." && pwd)/shared"
bdir="${LR_FUZZ_BUILD_DIR:-$here/build-fuzz}"
cache="${LR_FUZZ_CACHE:-$HOME/.cache/layerroute/fuzz}"
targets=(fuzz_safetensors fuzz_npy fuzz_config fuzz_tokenizer_json fuzz_qwen_encode
         fuzz_chat_render fuzz_dataset fuzz_adapters fuzz_serve_request fuzz_tool_call_parser)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

ci=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
  --ci) ci=1; shift ;;
esac
which="${1:-all}"
secs="${2:-60}"
timeout="${LR_FUZZ_TIMEOUT:-1}"
if [ "$ci" = 1 ]; then which=all; secs="${LR_FUZZ_CI_SECONDS:-20}"; timeout="${LR_FUZZ_TIMEOUT:-10}"; fi
if [ "$which" != all ] && ! printf '%s\n' "${targets[@]}" | grep -qx "$which"; then
  echo "fuzz.sh: unknown target '$which' (scripts/fuzz.sh --list)" >&2; exit 1
fi
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 1; }

# ---- build ----
cxx="$(command -v clang++-14 || command -v clang++ || true)"
[ -n "$cxx" ] || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs clang-14)" >&2; exit 1; }
if [ ! -f "$bdir/build.ninja" ]; then
  launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$here" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLR_FUZZ=ON \
    -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" -DLR_BUILD_TESTS=OFF -DLR_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$bdir" --target fuzz -j "$(nproc)"

# ---- seeds (rebuilt every run: cheap, and they follow the fixtures; private to this run,
# so that several runs can share the cache) ----
mkdir -p "$cache"
seeds="$(mktemp -d "$cache/seeds.XXXXXX")"
trap 'rm -rf "$seeds"' EXIT
"$bdir/tests/fuzz/lr_fuzz_seeds" "$seeds"
python3 - "$here" "$shared" "$seeds" <<'PY'
import json, os, sys, glob
here, shared, out = sys.argv[1:4]
SEP = "\n--next-file--\n"
fx = os.path.join(shared, "fixtures")
def put(target, name, data):
    d = os.path.join(out, target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
def read(p):
    with open(p, "rb") as f: return f.read()
def lines(p, n):
    return [l for l in read(p).decode().split("\n") if l.strip()][:n]
gen = '{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "temperature": 0.7, "top_p": 0.8, "top_k": 20}'
for i, c in enumerate(sorted(glob.glob(os.path.join(fx, "golden", "*", "config.json")))):
    put("fuzz_config", f"c{i}", read(c))
    put("fuzz_config", f"cg{i}", read(c).decode() + SEP + gen)
for n in ("qwen2-tiny", "llama-tiny"):
    p = os.path.join(fx, "golden", n, "tokenizer.json")
    if os.path.exists(p): put("fuzz_tokenizer_json", n, read(p))
for i, l in enumerate(lines(os.path.join(here, "tests/data/tokenizer_corpus.jsonl"), 10**6)):
    t = json.loads(l).get("text", "")
    if len(t.encode()) <= 4096: put("fuzz_qwen_encode", f"t{i}", t)
cases = os.path.join(fx, "tokenizer", "llamacpp-qwen2-cases.inp")
if os.path.exists(cases):
    for i, t in enumerate(read(cases).decode().split("\n__ggml_vocab_test__\n")):
        put("fuzz_qwen_encode", f"l{i}", t)
chats = lines(os.path.join(here, "tests/data/chat_conversations.jsonl"), 10**6)
for i, l in enumerate(chats):
    put("fuzz_chat_render", f"c{i}", l)
# Datasets: the first byte picks the loader (0 hermes, 1 glaive, 2 gsm8k, 3 turing, 4 messages).
data = os.path.join(shared, "data")
def rows_of(p, n):
    text = read(p).decode()
    if text.lstrip().startswith("["):
        return json.dumps(json.loads(text)[:n])
    return "\n".join(lines(p, n))
srcs = [(0, "hermes_function_calling_v1/dataset_card_examples.json"),
        (1, "glaive_function_calling_v2/glaive-function-calling-v2.5rows.json"),
        (1, "glaive_function_calling_v2/dataflow_chat_data.jsonl"),
        (1, "glaive_toolcall_llamafactory_derived/glaive_toolcall_en_demo.shared.json"),
        (2, "gsm8k/test_first200.jsonl"), (3, "gsm8k/test_first200.jsonl")]
for k, (fmt, rel) in enumerate(srcs):
    p = os.path.join(data, rel)
    if not os.path.exists(p): continue
    for n in (1, 3):
        put("fuzz_dataset", f"d{k}_{n}", bytes([fmt]) + rows_of(p, n).encode())
put("fuzz_dataset", "m0", bytes([4]) + "\n".join(chats[:4]).encode())
# serve request bodies: the first byte picks the endpoint (even: chat, odd: completions)
# and the block count a gate mask is checked against (byte >> 1, 1 + that % 48).
tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
call = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}
user = {"role": "user", "content": "Weather in Oslo?"}
bodies = [
    (0, {"messages": [user]}),
    (0, {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, user],
         "temperature": 0.7, "top_p": 0.9, "top_k": 20, "seed": 7, "max_tokens": 64,
         "stop": ["\n\n", "END"], "stream": True, "stream_options": {"include_usage": True},
         "user": "u1", "layerroute": {"gates": "mask:1011"}}),
    (6, {"messages": [user], "tools": [tool], "tool_choice": "required"}),
    (6, {"messages": [user], "tools": [tool],
         "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    (6, {"messages": [user, {"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 3}"},
                      {"role": "assistant", "content": "It is 3 C."}],
         "tools": [tool], "tool_choice": "auto", "response_format": {"type": "json_object"}}),
    (0, {"messages": [{"role": "developer", "content": [{"type": "text", "text": "a"},
                                                          {"type": "text", "text": "b"}]}, user],
         "max_completion_tokens": 5, "layerroute": {"gates": "open"}, "logprobs": False}),
    (1, {"prompt": "Once upon a time", "max_tokens": 16, "echo": False, "best_of": 1}),
    (1, {"prompt": ["one prompt"], "stop": "x", "layerroute": {"gates": "router"}}),
]
for i, (b0, body) in enumerate(bodies):
    put("fuzz_serve_request", f"b{i}", bytes([b0]) + json.dumps(body).encode())
put("fuzz_serve_request", "bad", bytes([0]) + b'{"messages": [{"role": "wizard"}]')
# Model output for the tool-call parser: the first two bytes pick a split point.
replies = [
    "It is sunny.",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    'Let me check.\n<tool_call>\n{"name": "f", "arguments": "{\\"a\\": [1, 2]}"}\n</tool_call>\n'
    '<tool_call>\n{"name": "g", "arguments": {"s": "</tool_call> in a string"}}\n</tool_call>done',
    '<tool_call>\n{"name": "f", "arguments": {"x": 1}}',
    '<tool_call>\nnot json\n</tool_call> then text <tool_ca',
    '<tool_call>\n{"name": "f", "arguments": {"q": "unbalanced}\n</tool_call>after',
    'a < b and <tool_call> <tool_call>{"name": "h"}</tool_call>',
]
for i, t in enumerate(replies):
    put("fuzz_tool_call_parser", f"r{i}", bytes([0, (7 * i + 5) % 256]) + t.encode())
PY

# ---- run ----
max_len() {
  case "$1" in
    fuzz_tokenizer_json) echo 65536 ;;
    fuzz_qwen_encode|fuzz_tool_call_parser) echo 4096 ;;
    *) echo 16384 ;;
  esac
}
# Options shared by every run: per-input timeout, no allocation over 256 MB (an input of a
# few KB asking for more is an allocation sized by an unchecked field), leaks reported.
# Slow units are reported at the timeout, not libFuzzer's 10 s: the timer is wall clock, and
# on a loaded machine a starved process writes "slow" inputs that run in milliseconds.
opts=(-timeout="$timeout" -report_slow_units="$timeout" -rss_limit_mb=2048
      -malloc_limit_mb=256 -detect_leaks=1 -print_final_stats=1)
# CI fuzzes with a fixed seed, so a run repeats the same mutations (up to how many fit in
# its seconds) and a red CI points at a real, reproducible finding, not at chance.
[ "$ci" = 1 ] && opts+=(-seed="${LR_FUZZ_SEED:-1}")
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TMPDIR="${TMPDIR:-$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp)}"

failed=()
run_target() {
  local t="$1" bin="$bdir/tests/fuzz/$1" crashes="$here/tests/fuzz/crashes/$1"
  local dict="$here/tests/fuzz/dict/${1#fuzz_}.dict" log="$cache/$1/last.log" corpus
  [ "$ci" = 1 ] && log="$cache/$1/ci.log"  # a long run may be writing last.log
  mkdir -p "$crashes" "$cache/$t"
  local dopt=(); [ -f "$dict" ] && dopt=(-dict="$dict")
  if [ "$ci" = 1 ]; then
    # Committed regression inputs: each must run clean.
    mapfile -t old < <(find "$crashes" -type f ! -name '.*' | sort)
    if [ ${#old[@]} -gt 0 ]; then
      echo "== $t: ${#old[@]} committed crash input(s)"
      "$bin" "${opts[@]}" "${old[@]}" >"$cache/$t/regress.log" 2>&1 ||
        { tail -40 "$cache/$t/regress.log"; failed+=("$t (committed input)"); }
    fi
    corpus="$(mktemp -d)"  # seeds only: CI does not depend on what long runs found
  else
    corpus="$cache/$t/corpus"; mkdir -p "$corpus"
  fi
  echo "== $t: ${secs} s"
  if ! nice -n "${LR_FUZZ_NICE:-0}" "$bin" "${opts[@]}" "${dopt[@]}" -max_len="$(max_len "$t")" \
      -max_total_time="$secs" -artifact_prefix="$crashes/" "$corpus" "$seeds/$t" >"$log" 2>&1; then
    tail -40 "$log"; failed+=("$t")
  fi
  local done_line; done_line="$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
  echo "   ${done_line:-$(tail -1 "$log")}"
  grep -aE '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sort -u | sed 's/^/   /' || true
  [ "$ci" = 1 ] && rm -rf "$corpus"
  return 0
}

if [ "$which" = all ]; then
  for t in "${targets[@]}"; do run_target "$t"; done
else
  run_target "$which"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs under tests/fuzz/crashes/)" >&2
  exit 1
fi
