#!/bin/bash
# contrib/bench/page.sh BIN REPO RUNS — one page of the candidate list
# through the CLI: `candidate list --limit 100 --json`, the first page and a
# page from the middle of the list (its cursor found by walking pages of
# 1000 first, untimed), RUNS times each. Prints one JSON object:
#   {"candidates": N, "runs": R, "first": {min_ms, median_ms, p90_ms},
#    "middle": {…}, "listed": 100}
# bench.sh runs it at every ledger size (section 3b); it can also be run on
# its own on a repository grown by tests/bench/ledger_bench.c:
#   ledger_bench grow REPO 10000 && contrib/bench/page.sh build/git-clean-release REPO 20
set -euo pipefail
export LC_ALL=C
[ $# -eq 3 ] || { echo "usage: page.sh BIN REPO RUNS" >&2; exit 2; }
BIN=$1 REPO=$2 RUNS=$3
now_us() { echo "${EPOCHREALTIME/./}"; }
stats() {  # microsecond figures -> {"min_ms":…,"median_ms":…,"p90_ms":…}
  printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    r = int(0.9 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
    printf "{\"min_ms\":%.2f,\"median_ms\":%.2f,\"p90_ms\":%.2f}", a[1] / 1e3, m / 1e3, a[r] / 1e3 }'
}
# The cursor of the middle of the list: walk pages of 1000 (or fewer) to it.
total=0 cursor=
want=$(("$("$BIN" -C "$REPO" audit log --json | jq '[.events[] | select(.type == "candidate.register")] | length')" / 2))
step=$((want < 1000 ? (want > 0 ? want : 1) : 1000))
while [ "$total" -lt "$want" ]; do
  if [ -n "$cursor" ]; then
    page=$("$BIN" -C "$REPO" candidate list --limit "$step" --cursor "$cursor" --json)
  else
    page=$("$BIN" -C "$REPO" candidate list --limit "$step" --json)
  fi
  total=$((total + $(jq '.candidates | length' <<<"$page")))
  cursor=$(jq -r '.next_cursor // empty' <<<"$page")
  [ -n "$cursor" ] || break
done
first=() middle=()
for ((k = 0; k < RUNS; k++)); do
  t0=$(now_us); "$BIN" -C "$REPO" candidate list --limit 100 --json >/dev/null; t1=$(now_us)
  first+=($((t1 - t0)))
  if [ -n "$cursor" ]; then
    t0=$(now_us); "$BIN" -C "$REPO" candidate list --limit 100 --cursor "$cursor" --json >/dev/null; t1=$(now_us)
    middle+=($((t1 - t0)))
  fi
done
listed=$("$BIN" -C "$REPO" candidate list --limit 100 --json | jq '.candidates | length')
printf '{"candidates":%d,"runs":%d,"listed":%d,"middle_at":%d,"first":%s,"middle":%s}\n' \
  "$((want * 2))" "$RUNS" "$listed" "$total" "$(stats "${first[@]}")" \
  "$( [ ${#middle[@]} -gt 0 ] && stats "${middle[@]}" || echo null)"
