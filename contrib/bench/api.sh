#!/bin/bash
# contrib/bench/api.sh BIN REPO POLICY REGISTRY — the REST API under wrk on
# loopback, on REPO (a ledger grown by tests/bench/ledger_bench.c, e.g.
# 10,000 candidates cand-000001…, tagged v1.0.0): bench.sh section 3c.
#   1. GET /candidates/{id} and GET /compliance-runs/{run_id}: wrk -t2 -c64
#      -d10s --latency (req/s, p50/p99), as the kit's nginx anchor is measured
#   2. GET /candidates?limit=100: 50 requests one after another (curl), median,
#      at the ledger's size, and again after the load rounds (which register
#      hundreds of candidates a second: a page then reads the whole run of
#      candidates sharing its created_at second)
#   3. registers with 16 concurrent writers (wrk -c16 -s, fresh ids), req/s,
#      and the compare-and-swap retry rate: each lost race leaves the ledger
#      commit it wrote unreferenced, so those are counted with git
#   4. the server's RSS (VmRSS, VmHWM, and of it RssAnon and RssFile) after
#      each of two load rounds (1 + 3; a first, unmeasured round warms the
#      server's bounded caches), then after each of two rounds of the
#      GET loads alone (1, the ledger unchanged): bounded caches fill up as
#      the writers grow the ledger; repeated load on one ledger must not grow
# Prints one JSON object. The server runs without tokens (loopback).
set -euo pipefail
export LC_ALL=C
[ $# -eq 4 ] || { echo "usage: api.sh BIN REPO POLICY REGISTRY" >&2; exit 2; }
BIN=$1 REPO=$2 POLICY=$3 REGISTRY=$4
command -v wrk >/dev/null || { echo "api.sh: wrk not found (Debian package wrk): run make deps" >&2; exit 1; }
T=$(mktemp -d)
cr() { "$BIN" -C "$REPO" "$@"; }
SRV=
cleanup() { [ -z "$SRV" ] || kill "$SRV" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

# A finished run to read: a one-file candidate checked against POLICY.
"$BIN" -C "$REPO" policy show >/dev/null 2>&1 ||
  cr -q policy publish --policy "$POLICY" --registry "$REGISTRY" --actor bench
mkdir -p "$T/art/dist" && printf 'console.log("hello");\n' >"$T/art/dist/a.js"
printf '{"artifacts":[{"path":"dist/a.js"}]}\n' >"$T/art/artifacts.json"
cr -q candidate register --candidate-id api-run --version 1.0.0 --source-snapshot v1.0.0 --actor bench
cr -q candidate import-artifacts --candidate-id api-run --input "$T/art/artifacts.json" --actor bench
MID=$(cr --json manifest build --candidate-id api-run --actor bench | jq -r .manifest_id)
RUN=$(cr --json compliance run --candidate-id api-run --manifest-id "$MID" --actor bench | jq -r .run_id) || true
NC=$(cr audit log --json | jq '[.events[] | select(.type == "candidate.register")] | length')

"$BIN" -C "$REPO" serve --listen 127.0.0.1:0 --actor bench --max-connections 1024 >/dev/null 2>"$T/serve.log" &
SRV=$!
for _ in $(seq 100); do grep -q "namespace real" "$T/serve.log" && break; sleep 0.05; done
URL=$(sed -n 's|^clean-release serve: \(http://[^ ]*\) namespace.*|\1|p' "$T/serve.log")
[ -n "$URL" ] || { echo "api.sh: the server did not start: $(cat "$T/serve.log")" >&2; exit 1; }
mid=$(printf 'cand-%06d' $(( (NC > 1 ? NC - 1 : 1) / 2 )))

to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
wrk_json() {  # wrk_json FILE -> {"req_s":…,"p50_ms":…,"p99_ms":…,"non2xx":…}
  local f=$1
  jq -n --argjson rps "$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$f")" \
    --argjson p50 "$(to_ms "$(awk '$1 == "50%" {print $2}' "$f")")" \
    --argjson p99 "$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")" \
    --argjson bad "$(awk '/Non-2xx/ {print $NF}' "$f" | tail -n 1 | grep . || echo 0)" \
    '{req_s: $rps, p50_ms: $p50, p99_ms: $p99, non2xx: $bad}'
}
# What the server keeps after a round: the lowest of 13 readings over 6 s,
# one period of its reaper (whose pass over every candidate's view holds
# ~1 KiB a candidate for a moment), and its peak so far. KiB:
# {"rss":…,"anon":…,"file":…,"hwm":…}
rss() {
  for _ in $(seq 13); do cat "/proc/$SRV/status"; echo; sleep 0.5; done |
    awk '/^VmHWM/ {h = $2} /^VmRSS/ {if (!r || $2 < r) {r = $2; keep = 1} else keep = 0}
         /^RssAnon/ && keep {a = $2} /^RssFile/ && keep {f = $2}
         END {printf "{\"rss\":%d,\"anon\":%d,\"file\":%d,\"hwm\":%d}", r, a, f, h}'
}

cat >"$T/register.lua" <<'EOF'
local n = 0
local tid = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) tid = wrk.thread:get("tid") end
request = function()
  n = n + 1
  local body = string.format('{"candidate_id":"wrk-%d-%d-%d","version":"1","source_snapshot":"v1.0.0"}', tid, os.time(), n)
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json"}, body)
end
EOF

gets() {  # gets K: the GET loads
  wrk -t2 -c64 -d10s --latency "$URL/candidates/$mid" >"$T/wrk-show.$1"
  if [ -n "$RUN" ]; then wrk -t2 -c64 -d10s --latency "$URL/compliance-runs/$RUN" >"$T/wrk-run.$1"; fi
}
round() {  # round K: the GET loads, then the writers
  gets "$1"
  wrk -t2 -c16 -d10s --latency -s "$T/register.lua" "$URL/candidates" >"$T/wrk-reg.$1"
}
# GET /candidates?limit=100, 5 to warm up then 50 one after another.
page_times() {
  local pages=()
  for _ in $(seq 5); do curl -s -o /dev/null "$URL/candidates?limit=100"; done
  for _ in $(seq 50); do
    pages+=("$(curl -s -o /dev/null -w '%{time_total}' "$URL/candidates?limit=100")")
  done
  printf '%s\n' "${pages[@]}" | sort -n | awk '{a[NR] = $1 * 1000} END {printf "{\"min_ms\":%.2f,\"median_ms\":%.2f,\"p90_ms\":%.2f}", a[1], (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[int(0.9 * NR + 0.99)]}'
}
PAGE=$(page_times)
# A first round, not measured: the server's bounded caches (libgit2's
# objects, 8 MiB; the answers kept by ledger tip, 4 MiB a thread) fill
# during it, so the rounds that follow compare the server warm, as nginx's
# anchor is measured.
round 0
before=$(git -C "$REPO" rev-list --count refs/clean-release/ledger)
round 1
RSS1=$(rss)
round 2
RSS2=$(rss)
after=$(git -C "$REPO" rev-list --count refs/clean-release/ledger)
gets 3
RSS3=$(rss)
gets 4
RSS4=$(rss)

PAGE_AFTER=$(page_times)
kill -TERM "$SRV"; wait "$SRV" || true; SRV=
# Lost races: ledger commits of a register that no ref reaches.
git -C "$REPO" fsck --dangling --no-reflogs --no-progress 2>/dev/null | awk '$2 == "commit" {print $3}' >"$T/dangling" || true
LOST=$(while read -r c; do git -C "$REPO" log -1 --format=%s "$c"; done <"$T/dangling" | grep -c '^candidate.register' || true)
COMMITS=$((after - before))

jq -n --arg url "$URL" --argjson nc "$NC" --arg mid "$mid" --arg run "${RUN:-}" \
  --argjson show1 "$(wrk_json "$T/wrk-show.1")" --argjson show2 "$(wrk_json "$T/wrk-show.2")" \
  --argjson run1 "$( [ -n "$RUN" ] && wrk_json "$T/wrk-run.1" || echo null)" \
  --argjson run2 "$( [ -n "$RUN" ] && wrk_json "$T/wrk-run.2" || echo null)" \
  --argjson reg1 "$(wrk_json "$T/wrk-reg.1")" --argjson reg2 "$(wrk_json "$T/wrk-reg.2")" \
  --argjson page "$PAGE" --argjson page_after "$PAGE_AFTER" --argjson commits "$COMMITS" --argjson lost "${LOST:-0}" \
  --argjson rss1 "$RSS1" --argjson rss2 "$RSS2" --argjson rss3 "$RSS3" --argjson rss4 "$RSS4" \
  --argjson show3 "$(wrk_json "$T/wrk-show.3")" --argjson show4 "$(wrk_json "$T/wrk-show.4")" \
  '{candidates: $nc, show_id: $mid, run_id: $run,
    show: [$show1, $show2], show_gets_only: [$show3, $show4], run: [$run1, $run2], register16: [$reg1, $reg2],
    registers_committed: $commits, cas_lost: $lost,
    cas_retry_rate: (if $commits > 0 then ($lost / $commits * 1000 | round / 1000) else null end),
    list_page_100: $page, list_page_100_after_rounds: $page_after,
    rss_kib: {after_round1: $rss1, after_round2: $rss2, after_gets3: $rss3, after_gets4: $rss4}}'
