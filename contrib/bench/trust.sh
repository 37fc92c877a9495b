#!/bin/bash
# contrib/bench/trust.sh BIN LEDGER_BENCH POLICY REGISTRY [N] — signed
# evidence (bench.sh section 3f):
#   1. a ledger of N candidates (default 10,000) taken to CHECK_PASSED by
#      ledger_bench (register, import, manifest, run through the facade),
#      mirrored twice (git clone --mirror: the same commits, hardlinked)
#   2. in one mirror policy v2 lists the bench key (ssh-ed25519, a file made
#      by ssh-keygen) as approver and requires release.approve signed, git
#      configured to sign with it; in the other v2 has no signers. Each
#      approves its N candidates (ledger_bench approve): the median and p90
#      of one approval, signed (ssh-keygen -Y sign, the gpgsig header) and
#      unsigned
#   3. `clean-release verify` of each whole ledger (3 runs, median): N
#      signed approvals checked against the policy in force, and unsigned
# Prints one JSON object.
set -euo pipefail
export LC_ALL=C
[ $# -ge 4 ] || { echo "usage: trust.sh BIN LEDGER_BENCH POLICY REGISTRY [N]" >&2; exit 2; }
BIN=$1 LB=$2 POLICY=$(realpath "$3") REGISTRY=$(realpath "$4") N=${5:-10000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ACTOR=bench@example.invalid
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=$ACTOR GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=$ACTOR
now_us() { echo $(($(date +%s%N) / 1000)); }

# ---- 1. the passed ledger
git init -q "$T/src"
git -C "$T/src" commit -q --allow-empty -m "bench source"
"$BIN" -C "$T/src" -q policy publish --policy "$POLICY" --registry "$REGISTRY" --actor "$ACTOR"
mkdir -p "$T/art/dist" && printf 'console.log("hello");\n' >"$T/art/dist/a.js"
SRC="$(jq -r '.allowed_sources[0].prefix' "$REGISTRY")bench/a.js"
jq -n --arg s "$SRC" '{artifacts: [{path: "dist/a.js", source: $s}]}' >"$T/art/artifacts.json"
"$LB" passed "$T/src" "$N" "$T/art/artifacts.json" >"$T/passed.json" 2>"$T/passed.log" ||
  { echo "trust.sh: ledger_bench passed failed: $(tail -n 1 "$T/passed.log")" >&2; exit 1; }

# ---- 2. the two mirrors, their policies, the approvals
ssh-keygen -q -t ed25519 -N "" -C bench -f "$T/key"
jq --arg k "$(cut -d' ' -f1,2 "$T/key.pub")" --arg a "$ACTOR" '.version = (.version + 1)
  | .signers = [{principal: $a, public_key: $k, roles: ["approver"]}] | .require_signatures = ["release.approve"]' \
  "$POLICY" >"$T/signed.json"
jq '.version = (.version + 1)' "$POLICY" >"$T/plain.json"
for kind in signed plain; do
  git clone -q --mirror "$T/src" "$T/$kind.git"
  "$BIN" -C "$T/$kind.git" -q policy publish --policy "$T/$kind.json" --registry "$REGISTRY" --actor "$ACTOR"
done
git -C "$T/signed.git" config gpg.format ssh
git -C "$T/signed.git" config user.signingKey "$T/key"
for kind in signed plain; do
  "$LB" approve "$T/$kind.git" "$N" >"$T/approve-$kind.json" 2>"$T/approve.log" ||
    { echo "trust.sh: ledger_bench approve ($kind) failed: $(tail -n 1 "$T/approve.log")" >&2; exit 1; }
done
last=$(git -C "$T/signed.git" cat-file commit refs/clean-release/ledger)
case $last in *"gpgsig -----BEGIN SSH SIGNATURE-----"*) ;; *) echo "trust.sh: the last approval is unsigned" >&2; exit 1 ;; esac

# ---- 3. verify of each whole ledger
for kind in signed plain; do
  for i in 1 2 3; do
    t0=$(now_us)
    "$BIN" -C "$T/$kind.git" verify >"$T/verify.out" 2>&1 ||
      { echo "trust.sh: verify ($kind) failed: $(cat "$T/verify.out")" >&2; exit 1; }
    t1=$(now_us)
    echo $((t1 - t0))
  done | sort -n | jq -s '{runs: length, min_ms: (.[0] / 1000), median_ms: (.[length / 2 | floor] / 1000)}' >"$T/verify-$kind.json"
done
commits=$(git -C "$T/signed.git" rev-list --count refs/clean-release/ledger)
jq -n --argjson n "$N" --argjson commits "$commits" --slurpfile passed "$T/passed.json" \
  --slurpfile asg "$T/approve-signed.json" --slurpfile au "$T/approve-plain.json" \
  --slurpfile vs "$T/verify-signed.json" --slurpfile vu "$T/verify-plain.json" \
  '{candidates: $n, ledger_commits: $commits, build_s: $passed[0].seconds,
    approve_signed: $asg[0], approve_unsigned: $au[0], verify_signed: $vs[0], verify_unsigned: $vu[0]}'
