# Sourced by scripts/real-vllm*.sh: their options, the release build, and a real vLLM 0.32
# on CPU (../shared/recipes/vllm-cpu) started on demand and stopped at the end with --stop.
#
# Before sourcing set `port` and `out` (the script's defaults), then: source this "$@".
# After it: root shared recipe vdir port out url bin stop, and
#   start_vllm MAX_MODEL_LEN [EXTRA vLLM ARGS...]  starts the server unless one answers at $url
#   stop_vllm                                      stops it if start_vllm started it and --stop was given
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
shared="${LLMLOAD_SHARED:-$root/../shared}"
recipe="$shared/recipes/vllm-cpu"
vdir="${VLLM_DIR:-$HOME/.cache/llmload-vllm-cpu}"
stop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --stop) stop=1; shift ;;
    *) echo "usage: $0 [--port N] [--out DIR] [--stop]" >&2; exit 2 ;;
  esac
done
url="http://127.0.0.1:$port"
rm -rf "$out"; mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "== building llmload (release)"
cargo build --release -q -p llmload || exit 1
bin="$root/target/release/llmload"

started=0
start_vllm() {
  curl -sf "$url/v1/models" >/dev/null && return 0
  local len="$1"; shift
  echo "== setting up and starting vLLM on $url $* (first time: ~10 min)"
  "$recipe/setup.sh" "$vdir" || exit 1
  (cd "$vdir" && VLLM_TARGET_DEVICE=cpu HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=4 setsid ./venv/bin/python \
    -m vllm.entrypoints.openai.api_server --model "$vdir/tiny-qwen" --served-model-name tiny-qwen \
    --host 127.0.0.1 --port "$port" --max-model-len "$len" --dtype bfloat16 "$@" \
    > "$vdir/vllm-$port.log" 2>&1 &)
  for _ in $(seq 1 240); do curl -sf "$url/v1/models" >/dev/null && break; sleep 1; done
  curl -sf "$url/v1/models" >/dev/null || { tail -30 "$vdir/vllm-$port.log"; exit 1; }
  started=1
}

stop_vllm() {
  # setsid may fork: a pid would name a parent already gone; match the server itself.
  if [ "$stop" = 1 ] && [ "$started" = 1 ]; then pkill -f "api_server .*--port $port( |$)" 2>/dev/null; fi
}
