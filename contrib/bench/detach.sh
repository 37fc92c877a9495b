#!/bin/bash
# contrib/bench/detach.sh BIN POLICY REGISTRY RUNS — what a detached run
# costs beyond the same run in the foreground: the runner is a process of
# its own (posix_spawn of `task run`), which links, opens the repository and
# rebuilds the request from the ledger before it scans. In a fresh
# repository, RUNS candidates of one small artifact each; odd ones run in
# the foreground, even ones with --detach, timed until the runner lets go of
# its task lock (flock). Prints one JSON object:
#   {"runs": R, "foreground": {min_ms, median_ms}, "detached": {…},
#    "added_ms": {"min": …, "median": …}}
# bench.sh runs it (section 3g); by hand:
#   contrib/bench/detach.sh build/git-clean-release POLICY REGISTRY 40
set -euo pipefail
export LC_ALL=C
[ $# -eq 4 ] || { echo "usage: detach.sh BIN POLICY REGISTRY RUNS" >&2; exit 2; }
BIN=$(realpath "$1") POLICY=$(realpath "$2") REGISTRY=$(realpath "$3") RUNS=$4
W=$(mktemp -d "${TMPDIR:-/tmp}/cr-detach.XXXXXX")
[ -n "${CR_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
now_us() { echo "${EPOCHREALTIME/./}"; }
stats() {  # microsecond figures -> {"min_ms":…,"median_ms":…}
  printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "{\"min_ms\":%.2f,\"median_ms\":%.2f}", a[1] / 1e3, m / 1e3 }'
}
R=$W/repo
git init -q "$R"
printf 'x\n' >"$R/app.js"
git -C "$R" add app.js
git -C "$R" -c user.name=bench -c user.email=bench@example.invalid commit -q -m "bench source"
git -C "$R" tag v1.0.0
mkdir -p "$R/build/dist"
printf 'console.log("hello");\n' >"$R/build/dist/app.js"
source=$(jq -r ".allowed_sources[0].prefix" "$REGISTRY")
jq -n --arg s "$source" '{artifacts: [{path: "dist/app.js", source: ($s + "bench")}]}' >"$R/build/artifacts.json"
cr() { "$BIN" -C "$R" -q "$@"; }
cr policy publish --policy "$POLICY" --registry "$REGISTRY" --actor bench@example.invalid
for ((i = 1; i <= RUNS; i++)); do
  cr candidate register --candidate-id "d$i" --version 1.0.0 --source-snapshot v1.0.0 --actor bench@example.invalid
  cr candidate import-artifacts --candidate-id "d$i" --input "$R/build/artifacts.json" --actor bench@example.invalid
  cr manifest build --candidate-id "d$i" --actor bench@example.invalid
done
fg=() dt=()
for ((i = 1; i <= RUNS; i++)); do
  run=(compliance run --candidate-id "d$i" --manifest-id "$(printf 'man-%03d' "$i")" --actor bench@example.invalid)
  if ((i % 2)); then
    t0=$(now_us); "$BIN" -C "$R" -q "${run[@]}" >/dev/null || true; t1=$(now_us)
    fg+=($((t1 - t0)))
  else
    t0=$(now_us)
    task=$("$BIN" -C "$R" --json "${run[@]}" --detach | jq -r .task_id)
    flock "$R/.git/clean-release/tasks/$task.lock" true
    t1=$(now_us)
    dt+=($((t1 - t0)))
  fi
done
# Every run finished, none left unfinished.
left=$("$BIN" -C "$R" candidate list --json | jq '[.candidates[] | select(.status | test("CHECK_(PENDING|RUNNING)"))] | length')
[ "$left" = 0 ] || { echo "detach.sh: $left runs unfinished" >&2; exit 1; }
f=$(stats "${fg[@]}") d=$(stats "${dt[@]}")
jq -n --argjson runs "$RUNS" --argjson f "$f" --argjson d "$d" \
  '{runs: $runs, foreground: $f, detached: $d,
    added_ms: {min: (($d.min_ms - $f.min_ms) * 100 | round / 100), median: (($d.median_ms - $f.median_ms) * 100 | round / 100)}}'
