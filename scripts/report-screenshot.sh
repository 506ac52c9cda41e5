#!/usr/bin/env bash
# Render the HTML report of a 4-benchmark sweep against the built-in mock in
# headless Chromium (network cut off) and save a screenshot:
#   scripts/report-screenshot.sh [OUT.png]   (default docs/report-sweep.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report-sweep.png}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p llmload
target/release/llmload benchmark --target mock --rate-type sweep --rate 4 --max-seconds 5 \
  --data "prompt_tokens=256,prompt_tokens_stdev=25,output_tokens=64,output_tokens_stdev=6" \
  --outputs json,html --disable-console-outputs --disable-progress --output-dir "$work"

browser="$(command -v chromium || command -v chromium-browser)"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
  --user-data-dir="$work/profile" --window-size=1400,2600 \
  --screenshot="$(realpath -m "$out")" "file://$work/benchmarks.html" 2>/dev/null
echo "wrote $out"
