#!/usr/bin/env bash
# Shards of one run (--shard) and `llmload merge` against a real vLLM 0.32 (CPU build, tiny
# random Qwen2 around the real Qwen2.5 tokenizer; ../shared/recipes/vllm-cpu). Not part of
# CI (the server needs ~17 GB and ~10 minutes of set-up, once). Takes ~2 minutes after that.
#
# usage: scripts/real-vllm-shards.sh [--port N] [--out DIR] [--stop]
#
# Two shards, constant 1 req/s for 40 s, 64/16 tokens, merged. Checks (ok/FAIL; exit 1 if
# any failed):
#   - the union of the shards' intended send times is start + i/rate, i = 0..39, to 1 us;
#   - the merged report holds 40 requests, and vLLM's own counters (scraped by shard 0,
#     carried by its journal) agree with all shards' records: no cross-check warning;
#   - vLLM's request_success delta over the run (scraped here, before and after) equals the
#     merged report's successful + cut-off requests that finished on the server.
port=8203
out=target/real-vllm-shards
source "$(dirname "$0")/lib/real-vllm.sh" "$@"
start_vllm 4096
trap stop_vllm EXIT

curl -s "$url/metrics" > "$out/metrics-before.txt"
echo "== two shards: constant 1 req/s, 40 s"
for k in 0 1; do
  "$bin" benchmark --target "$url" --processor "$vdir/tiny-qwen" --rate-type constant --rate 1 \
    --max-seconds 40 --data prompt_tokens=64,output_tokens=16 --shard "$k/2" \
    --output-dir "$out/run" --outputs json --disable-progress --disable-console-outputs \
    > "$out/shard-$k.log" 2>&1 &
done
wait
curl -s "$url/metrics" > "$out/metrics-after.txt"
"$bin" merge "$out/run" --output-dir "$out/merged" --outputs console,json > "$out/merge.log" 2>&1
rc=$?
tail -12 "$out/merge.log"
[ $rc = 0 ] || { echo "FAIL: llmload merge exited $rc"; exit 1; }

python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
ok = True
def check(name, cond, detail=""):
    global ok
    print(("ok   " if cond else "FAIL ") + name + (f": {detail}" if detail else ""))
    ok &= bool(cond)
targets = []
for k in (0, 1):
    for line in open(f"{out}/run/shard-{k}-of-2.journal"):
        v = json.loads(line)
        if "record" in v:
            targets.append(v["record"]["timings"]["targeted_start"])
targets.sort()
start = targets[0]
expected = [start + round(i * 1e9) for i in range(len(targets))]
worst = max(abs(a - b) for a, b in zip(targets, expected))
check("union of intended send times = start + i/rate", len(targets) == 40 and worst <= 1000,
      f"{len(targets)} requests, worst {worst} ns off")
r = json.load(open(f"{out}/merged/benchmarks.json"))
b = r["benchmarks"][0]
t = b["metrics"]["request_totals"]
check("merged report holds 40 requests", t["total"] == 40, json.dumps(t))
sm = b["llmload"]["server_metrics"]
check("vLLM's counters agree with all shards' records", sm is not None and not sm["cross_checks"]["warnings"],
      json.dumps(sm and sm["cross_checks"]["warnings"]))
def success(path):
    return sum(float(m.group(1)) for m in re.finditer(r'^vllm:request_success_total\{[^}]*\} ([0-9.e+]+)', open(path).read(), re.M))
delta = success(f"{out}/metrics-after.txt") - success(f"{out}/metrics-before.txt")
check("vLLM's request_success delta = merged successful (+ cut off)",
      t["successful"] <= delta <= t["successful"] + t["incomplete"],
      f"server {delta:.0f}, llmload {t['successful']} + {t['incomplete']} cut off")
sys.exit(0 if ok else 1)
PY
