#!/bin/bash
# contrib/bench/distributed.sh BIN REPO POLICY REGISTRY — the server's gate
# and sync (bench.sh section 3d). REPO is a ledger grown by
# tests/bench/ledger_bench.c (10,000 candidates cand-…, tagged v1.0.0).
#   1. hook pre-receive for a push of one release tag plus 50 ledger
#      commits onto REPO's ledger (its mirror as the server): the first
#      check after the commits (the view cache knows the old tip) and 20
#      more, median and p90, and the hook's max RSS; the tag is at the
#      source commit of an APPROVED candidate, so every check reads it all
#   2. the same for a push of 1,000 ledger commits (the range verified)
#   3. sync replaying 100 local operations onto 1,000 the server gained
#      (a small server ledger, restored before each of 3 rounds): wall time
#      of `clean-release sync` (fetch, verify, replay, push through the gate)
# Prints one JSON object.
set -euo pipefail
export LC_ALL=C
[ $# -eq 4 ] || { echo "usage: distributed.sh BIN REPO POLICY REGISTRY" >&2; exit 2; }
BIN=$1 REPO=$2 POLICY=$(realpath "$3") REGISTRY=$(realpath "$4")
# The installed hooks call `git clean-release`: BIN is that program.
export PATH="$(cd "$(dirname "$BIN")" && pwd):$PATH"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench \
  GIT_COMMITTER_EMAIL=bench@example.invalid
Z=0000000000000000000000000000000000000000
now_us() { echo $(($(date +%s%N) / 1000)); }
stats() {  # stats US... -> {"min_ms","median_ms","p90_ms","n"}
  printf '%s\n' "$@" | sort -n | jq -s '{n: length, min_ms: (.[0] / 1000),
    median_ms: (.[length / 2 | floor] / 1000), p90_ms: (.[(length * 9 / 10) | floor] / 1000)}'
}

# ---- 1. and 2. pre-receive on the large ledger
S=$T/server.git
git clone -q --mirror "$REPO" "$S"
cr() { "$BIN" -C "$S" "$@"; }
cr policy show >/dev/null 2>&1 || cr -q policy publish --policy "$POLICY" --registry "$REGISTRY" --actor bench
mkdir -p "$T/art/dist" && printf 'console.log("hello");\n' >"$T/art/dist/a.js"
# Its source from the registry's first allowed prefix: the run passes.
SRC="$(jq -r '.allowed_sources[0].prefix' "$REGISTRY")bench/a.js"
jq -n --arg s "$SRC" '{artifacts: [{path: "dist/a.js", source: $s}]}' >"$T/art/artifacts.json"
TAGC=$(git -C "$S" rev-parse 'v1.0.0^{commit}')
hook() {  # hook OLD NEW: one pre-receive of the ledger update and the release tag; prints µs
  local t0 t1
  printf '%s %s refs/clean-release/ledger\n%s %s refs/tags/v9.0.0\n' "$1" "$2" "$Z" "$TAGC" >"$T/in"
  t0=$(now_us)
  (cd "$S" && GIT_DIR=. "$BIN" hook pre-receive <"$T/in" 2>"$T/hook.err") ||
    { echo "distributed.sh: the hook refused: $(cat "$T/hook.err")" >&2; exit 1; }
  t1=$(now_us)
  echo $((t1 - t0))
}
OLD=$(git -C "$S" rev-parse refs/clean-release/ledger)
# The server as it stands before the push: its view cache knows OLD.
printf '%s %s refs/clean-release/ledger\n' "$OLD" "$OLD" | (cd "$S" && GIT_DIR=. "$BIN" hook pre-receive) 2>/dev/null
cr -q candidate list --status APPROVED >/dev/null
# The push: an APPROVED candidate at the tag's commit, then registers up to 50 commits.
cr -q candidate register --candidate-id gate-release --version 9.0.0 --source-snapshot v1.0.0 --actor bench
cr -q candidate import-artifacts --candidate-id gate-release --input "$T/art/artifacts.json" --actor bench
MID=$(cr --json manifest build --candidate-id gate-release --actor bench | jq -r .manifest_id)
RID=$(cr --json compliance run --candidate-id gate-release --manifest-id "$MID" --actor bench --jobs 1 | jq -r .report_id) ||
  { echo "distributed.sh: the run of hook-rel did not pass" >&2; exit 1; }
cr -q release approve --candidate-id gate-release --report-id "$RID" --actor bench
k=0
while [ "$(git -C "$S" rev-list --count "$OLD..refs/clean-release/ledger")" -lt 50 ]; do
  k=$((k + 1))
  cr -q candidate register --candidate-id "gate-push-$k" --version 1 --source-snapshot v1.0.0 --actor bench
done
NEW=$(git -C "$S" rev-parse refs/clean-release/ledger)
# The objects as a push leaves them, the refs as they were: the server's ledger ref back at OLD.
git -C "$S" update-ref refs/clean-release/ledger "$OLD"
FIRST=$(hook "$OLD" "$NEW")
times=()
for _ in $(seq 20); do times+=("$(hook "$OLD" "$NEW")"); done
RSS=$(printf '%s %s refs/clean-release/ledger\n%s %s refs/tags/v9.0.0\n' "$OLD" "$NEW" "$Z" "$TAGC" |
  (cd "$S" && GIT_DIR=. /usr/bin/time -f %M "$BIN" hook pre-receive 2>&1 >/dev/null | tail -n 1))
P50=$(stats "${times[@]}")
OLD1K=$(git -C "$S" rev-parse "$NEW~1000")
times=()
for _ in $(seq 5); do times+=("$(hook "$OLD1K" "$NEW")"); done
P1K=$(stats "${times[@]}")

# ---- 3. sync: 100 local operations onto 1,000 the server gained
B=$T/sync
mkdir -p "$B"
git init -q --bare "$B/server.git"
(cd "$B/server.git" && "$BIN" -q hook install --server)
git clone -q "$B/server.git" "$B/a" 2>/dev/null
git -C "$B/a" commit -q --allow-empty -m base && git -C "$B/a" tag v1.0.0 && git -C "$B/a" push -q origin HEAD:refs/heads/master v1.0.0
"$BIN" -C "$B/a" -q policy publish --policy "$POLICY" --registry "$REGISTRY" --actor bench
"$BIN" -C "$B/a" -q push
git clone -q "$B/server.git" "$B/b"
"$BIN" -C "$B/b" -q fetch
for k in $(seq 1000); do "$BIN" -C "$B/a" -q candidate register --candidate-id "remote-$k" --version 1 --source-snapshot v1.0.0 --actor a; done
"$BIN" -C "$B/a" -q push
for k in $(seq 100); do "$BIN" -C "$B/b" -q candidate register --candidate-id "local-$k" --version 1 --source-snapshot v1.0.0 --actor b; done
cp -a "$B/server.git" "$B/server.bak"
cp -a "$B/b" "$B/b.bak"
times=()
for round in 1 2 3; do
  rm -rf "$B/server.git" "$B/b"
  cp -a "$B/server.bak" "$B/server.git"
  cp -a "$B/b.bak" "$B/b"
  t0=$(now_us)
  "$BIN" -C "$B/b" -q sync 2>"$T/sync.err" || { echo "distributed.sh: sync failed: $(cat "$T/sync.err")" >&2; exit 1; }
  t1=$(now_us)
  times+=($((t1 - t0)))
  n=$("$BIN" -C "$B/server.git" --json candidate list | jq '.candidates | length')
  [ "$n" = 1100 ] || { echo "distributed.sh: the server lists $n candidates after sync, not 1100" >&2; exit 1; }
done
SYNC=$(stats "${times[@]}")

jq -n --argjson first "$(awk -v u="$FIRST" 'BEGIN { print u / 1000 }')" --argjson p50 "$P50" --argjson p1k "$P1K" \
  --argjson rss "${RSS:-0}" --argjson sync "$SYNC" --argjson commits 50 \
  '{pre_receive_50: ($p50 + {first_ms: $first, commits: $commits, max_rss_kib: $rss}),
    pre_receive_1000: ($p1k + {commits: 1000}),
    sync_100_onto_1000: $sync}'
