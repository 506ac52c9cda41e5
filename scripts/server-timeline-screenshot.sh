#!/usr/bin/env bash
# Render the HTML report of a benchmark at twice the knee of the simulated engine, with its
# /metrics scraped every 0.2 s, in headless Chromium (network cut off) and save a screenshot
# showing the server's queue beside llmload's requests in flight:
#   scripts/server-timeline-screenshot.sh [OUT.png]   (default docs/report-server-timeline.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report-server-timeline.png}"
work="$(mktemp -d)"
cargo build -q -p llmload
bin=target/debug/llmload
port=$((20000 + RANDOM % 20000))
"$bin" mock-server --port "$port" --simulate --max-num-seqs 4 --step-ms 2 --step-per-seq-ms 0.2 \
  --prefill-ms-per-token 0.01 > "$work/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -sf "127.0.0.1:$port/v1/models" >/dev/null && break; sleep 0.1; done
# The knee at 64/32 tokens is ~44 req/s: 90 req/s for 4 s.
"$bin" benchmark --target "http://127.0.0.1:$port" --rate-type constant --rate 90 --max-seconds 4 \
  --data prompt_tokens=64,output_tokens=32 --server-metrics-interval 0.2 \
  --processor "${LLMLOAD_SHARED:-../shared}/tokenizers/gpt2" \
  --outputs json,html --disable-console-outputs --disable-progress --output-dir "$work"
browser="$(command -v chromium || command -v chromium-browser)"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
  --user-data-dir="$work/profile" --window-size=1400,3900 \
  --screenshot="$(realpath -m "$out")" "file://$work/benchmarks.html" 2>/dev/null
echo "wrote $out"
