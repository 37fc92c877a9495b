#!/bin/bash
# contrib/bench/evidence.sh BIN DIR POLICY REGISTRY RUNS — bounded evidence:
# `verify` and `compliance violations --json` (wall time and peak RSS) on a
# ledger holding 100,000 recorded violations, then 1,000,000. In a fresh
# repository DIR/repo, with POLICY's limits raised so that all of them are
# recorded (max_violations_per_rule_artifact 10,000, max_violations_per_run
# 1,000,000): 100 files × 1,000 and 100 files × 10,000 lines, each line one
# external endpoint. Prints one JSON object:
#   {"runs": R, "sizes": [{"recorded": N, "violations_bytes": B, "run_s": S,
#     "verify": {min_ms, median_ms, max_rss_kib}, "violations_json": {…}}, …]}
# bench.sh runs it (section 6b); it can also run on its own.
set -euo pipefail
export LC_ALL=C
[ $# -eq 5 ] || { echo "usage: evidence.sh BIN DIR POLICY REGISTRY RUNS" >&2; exit 2; }
BIN=$1 D=$2 POLICY=$3 REGISTRY=$4 RUNS=$5
[ -x /usr/bin/time ] || { echo "evidence.sh: /usr/bin/time is needed (Debian package time)" >&2; exit 1; }
R=$D/repo
now_us() { echo "${EPOCHREALTIME/./}"; }
cr() { "$BIN" -C "$R" "$@"; }

rm -rf "$D"
mkdir -p "$D"
git init -q "$R"
git -C "$R" -c user.name=bench -c user.email=bench@example.invalid commit -q --allow-empty -m "bench source"
git -C "$R" tag v1.0.0
jq '.limits.max_violations_per_rule_artifact = 10000 | .limits.max_violations_per_run = 1000000' "$POLICY" >"$D/policy.json"
cr -q policy publish --policy "$D/policy.json" --registry "$REGISTRY" --actor bench

# timed WHAT CMD…: RUNS runs, stdout to /dev/null; {min_ms, median_ms, max_rss_kib}.
timed() {
  local us=() rss=0 t0 t1 k r
  for ((k = 0; k < RUNS; k++)); do
    t0=$(now_us)
    /usr/bin/time -f %M -o "$D/time" "$@" >/dev/null
    t1=$(now_us)
    us+=($((t1 - t0)))
    r=$(tail -n 1 "$D/time")
    [ "$r" -le "$rss" ] || rss=$r
  done
  printf '%s\n' "${us[@]}" | sort -n | awk -v rss="$rss" '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "{\"min_ms\":%.1f,\"median_ms\":%.1f,\"max_rss_kib\":%d}", a[1] / 1e3, m / 1e3, rss }'
}

for lines in 1000 10000; do
  C=$D/c$lines
  mkdir -p "$C/dist"
  for ((f = 0; f < 100; f++)); do
    awk -v f="$f" -v n="$lines" 'BEGIN {
      for (i = 0; i < n; i++)
        printf "export const u%03d_%05d = \"https://tracker.telemetry-collector.test/collect?f=%03d&line=%05d\"; // bench\n", f, i, f, i
    }' >"$C/dist/file-$(printf %03d "$f").js"
  done
  (cd "$C" && find dist -type f | sort | jq -R -s 'split("\n") | map(select(length > 0) | {path: ., source: "npm:synthetic@1.0.0"}) | {artifacts: .}' >artifacts.json)
  id=ev$lines
  cr -q candidate register --candidate-id "$id" --version 1.0.0 --source-snapshot v1.0.0 --actor bench
  cr -q candidate import-artifacts --candidate-id "$id" --input "$C/artifacts.json" --actor bench
  mid=$(cr --json manifest build --candidate-id "$id" --actor bench | jq -r .manifest_id)
  t0=$(now_us)
  run=$(cr --json compliance run --candidate-id "$id" --manifest-id "$mid" --jobs 2 --actor bench | jq -r .run_id) || true
  t1=$(now_us)
  [ -n "$run" ] && [ "$run" != null ] || { echo "evidence.sh: compliance run of $id failed" >&2; exit 1; }
  rm -rf "$C"
  recorded=$(cr compliance violations --run-id "$run" --json | jq '.violations | length')
  total=$(cr compliance report --run-id "$run" --json 2>/dev/null | jq .violation_counts.total) || true
  bytes=$(cr compliance violations --run-id "$run" --json | wc -c)
  v=$(timed "$BIN" -C "$R" verify)
  j=$(timed "$BIN" -C "$R" compliance violations --run-id "$run" --json)
  jq -n --argjson recorded "$recorded" --argjson total "${total:-null}" --argjson bytes "$bytes" \
    --argjson run_s "$(awk -v u=$((t1 - t0)) 'BEGIN { printf "%.2f", u / 1e6 }')" \
    --argjson ledger "$(git -C "$R" rev-list --count refs/clean-release/ledger)" \
    --argjson v "$v" --argjson j "$j" \
    '{recorded: $recorded, total: $total, violations_json_bytes: $bytes, run_s: $run_s, ledger_commits: $ledger,
      verify: $v, violations_json: $j}'
done | jq -s --argjson runs "$RUNS" '{runs: $runs, sizes: .}'
rm -rf "$R"
