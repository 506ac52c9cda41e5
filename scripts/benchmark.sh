#!/usr/bin/env bash
# OpenNebula LLM appliance certification benchmark.
#
# Detects the endpoint, the model, the GPU, the vCPUs and the RAM of this
# appliance, then runs `llmload validate opennebula`: the maximum-throughput
# search with 512/256-token synthetic prompts (1,000 samples), 10 fixed-rate
# runs below the rate found, the HTML report, the certified-results row, the
# SLO verdicts and the comparison with the certified results.
#
# Usage: scripts/benchmark.sh [--endpoint URL] [--model NAME] [--output-dir DIR]
#                             [--gpu NAME] [--step-seconds S] [--run-seconds S]
#                             [--short] [-- EXTRA LLMLOAD FLAGS...]
# Environment: ENDPOINT (default http://localhost:8000), MODEL, GPU, LLMLOAD
# (the llmload binary; default: llmload on PATH, else this checkout's
# target/release/llmload, else target/debug/llmload), OUTPUT_DIR.
#
# Tokenizer: prompts are built with the served model's tokenizer, found
# without flags when the model is in the Hugging Face cache or the server's
# GET /v1/models names a local directory holding tokenizer.json (vLLM on this
# host). When neither works the run stops at once, naming every place tried:
# pass it after `--`, e.g. `scripts/benchmark.sh -- --processor /models/M`
# (a tokenizer.json, a directory holding one, or a cached HF model id).
set -euo pipefail

endpoint="${ENDPOINT:-http://localhost:8000}"
model="${MODEL:-}"
gpu="${GPU:-}"
output_dir="${OUTPUT_DIR:-certification-$(date +%Y%m%d-%H%M%S)}"
llmload="${LLMLOAD:-llmload}"
step_seconds=30
run_seconds=60
extra=()

die() {
    echo "benchmark.sh: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --endpoint) endpoint="${2:?--endpoint needs a URL}"; shift 2 ;;
        --model) model="${2:?--model needs a name}"; shift 2 ;;
        --gpu) gpu="${2:?--gpu needs a name}"; shift 2 ;;
        --output-dir) output_dir="${2:?--output-dir needs a directory}"; shift 2 ;;
        --step-seconds) step_seconds="${2:?--step-seconds needs seconds}"; shift 2 ;;
        --run-seconds) run_seconds="${2:?--run-seconds needs seconds}"; shift 2 ;;
        --short) step_seconds=3; run_seconds=3; shift ;;
        -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

if [ -z "${LLMLOAD:-}" ] && ! command -v llmload >/dev/null 2>&1; then
    # Not installed: the binary this checkout built, if any.
    root="$(cd "$(dirname "$0")/.." && pwd)"
    for b in "$root/target/release/llmload" "$root/target/debug/llmload"; do
        if [ -x "$b" ]; then llmload="$b"; break; fi
    done
fi
command -v "$llmload" >/dev/null 2>&1 || die "llmload not found: install it (cargo install --path crates/llmload), build it (cargo build --release), or set LLMLOAD=/path/to/llmload"
endpoint="${endpoint%/}"

# The model: the first one the server lists.
if [ -z "$model" ] && command -v curl >/dev/null 2>&1; then
    models="$(curl -fsS --max-time 10 "$endpoint/v1/models" 2>/dev/null || true)"
    model="$(printf '%s' "$models" | tr ',' '\n' | sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' | head -n 1)"
fi
[ -n "$model" ] || die "no model listed at $endpoint/v1/models (is the server up? pass --model)"

# The GPU, as nvidia-smi names it ("NVIDIA L40S" -> "L40S").
if [ -z "$gpu" ] && command -v nvidia-smi >/dev/null 2>&1; then
    name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)"
    gpu="${name#NVIDIA }"
fi
gpu="${gpu:-none}"

vcpus="$(nproc)"
ram_kb="$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
ram_gb=$(((ram_kb + 524288) / 1048576))

echo "Endpoint: $endpoint"
echo "Model:    $model"
echo "GPU:      $gpu"
echo "vCPUs:    $vcpus"
echo "RAM:      ${ram_gb} GB"
echo "Reports:  $output_dir"
echo

exec "$llmload" validate opennebula \
    --target "$endpoint" \
    --model "$model" \
    --gpu "$gpu" \
    --vcpus "$vcpus" \
    --ram-gb "$ram_gb" \
    --data "prompt_tokens=512,output_tokens=256,samples=1000" \
    --step-seconds "$step_seconds" \
    --run-seconds "$run_seconds" \
    --output-dir "$output_dir" \
    ${extra[@]+"${extra[@]}"}
