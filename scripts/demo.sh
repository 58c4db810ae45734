#!/usr/bin/env bash
# The main job: set up, build, and run `layerroute demo` (extra args are passed on,
# e.g. --quick, --model DIR, --work DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/build.sh" >/dev/null
exec "${LR_BUILD_DIR:-$here/build}/layerroute" demo "$@"
