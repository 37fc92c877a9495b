#!/bin/sh
# contrib/bench/bench.sh BIN — what `make bench` runs.
#
# Measures clean-release (BIN = build/git-clean-release) against the anchors
# of the benchmark kit (../shared/bench: ripgrep's scan, sha256sum's hash, a
# naive git-plumbing ledger append), all in this one run on this machine, and
# reports ratios. Benchmarks, not tests: it exits 0 whether or not a target
# is met (non-zero only when it cannot measure at all), and says for each
# target "met" or "NOT met". See docs/benchmarks.md for the method.
#
#   1. corpus (build-corpus.sh medium), policy (rules-to-policy.py), anchors
#      (anchors.sh -o anchors.json)
#   2. ledger append, in-process (tests/bench/ledger_bench.c through the
#      facade) and per process (the CLI), at 100 / 1,000 / 10,000 candidates
#   3. candidate show / list --json at the largest ledger size; 3b. one page
#      (candidate list --limit 100 --json, contrib/bench/page.sh) at every size;
#      3e. the TUI's first screen and idle refresh at every size, following a
#      check at the largest (contrib/bench/tui.sh)
#   3c. the REST API under wrk at the largest size (contrib/bench/api.sh)
#   3d. the server's pre-receive for a push of a release tag + 50 ledger
#      commits, and of 1,000 commits, at the largest size; sync replaying 100
#      local operations onto 1,000 remote ones (contrib/bench/distributed.sh)
#   3f. signed evidence: an approval signed against unsigned (median), and
#      verify of a ledger of N candidates with signed approvals against the
#      same ledger unsigned (contrib/bench/trust.sh; N the largest ledger size)
#   3g. a detached run against the same run in the foreground: what the
#      runner as a process of its own adds (contrib/bench/detach.sh)
#   4. candidate import-artifacts of the corpus vs sha256sum -P2
#   5. compliance run --jobs 1 / --jobs 2 vs rg -j1 / -j2, peak RSS per process
#   6. 100,000 violations vs a clean run of the same size; 6b. verify and
#      compliance violations --json at 100,000 and 1,000,000 recorded
#      violations (contrib/bench/evidence.sh)
#   7. table on stdout, every figure in $CR_BENCH_DIR/bench.json
#
# Environment:
#   CR_BENCH_DIR      scratch root (default /tmp/cr-bench); this run works in $CR_BENCH_DIR/run
#   CR_BENCH_KIT      the kit (default: ../shared/bench from the project root)
#   CR_BENCH_QUICK=1  a quick try: 3 runs (anchors.sh's minimum), ledger sizes 100 1000, 20 appends
#   CR_BENCH_RUNS     timed runs per import/compliance figure (default 5; 3 when quick)
#   CR_BENCH_LEDGER_SIZES  (default "100 1000 10000"; quick: "100 1000")
#   CR_BENCH_LEDGER_DISTINCT_SIZES  ledger sizes for the one-commit-per-candidate variant (default "100 1000")
#   CR_BENCH_TMPFS_SIZES  the same appends on /dev/shm, for information (default: the ledger sizes; "" skips)
#   CR_BENCH_APPENDS  timed in-process appends per size (default 50; quick 20)
#   CR_BENCH_REUSE_ANCHORS=1  reuse $CR_BENCH_DIR/anchors.json instead of measuring (development only:
#                     ratios are then not from the same run)
#   CR_BENCH_QUIET_WAIT  seconds to wait, before each timed phase, for other load to go away (default 60)
#   CR_BENCH_PROFILE=1   also perf record (DWARF call graphs) one compliance run --jobs 2, after the
#                     timed figures, and print where the runner and the workers spend their time
#   CR_BENCH_KEEP=1   keep the scratch repositories
#   CR_BENCH_REPORT_ONLY=1  print the table and write bench.json again from the last run's measurements
#   CR_BENCH_NO_INSTALL=1   never apt-get (time; anchors.sh: ripgrep, nginx, wrk)
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

PROG=bench.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s: [%s] %s\n' "$PROG" "$(date -u +%H:%M:%S)" "$*" >&2; }

[ $# -eq 1 ] || die "usage: bench.sh BIN   (BIN: the built git-clean-release)"
BIN=$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1") || die "no such binary: $1"
[ -x "$BIN" ] || die "not an executable: $BIN (run make first)"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KIT=${CR_BENCH_KIT:-$ROOT/../shared/bench}
[ -d "$KIT" ] || die "the benchmark kit is not at $KIT (set CR_BENCH_KIT)"
KIT=$(cd "$KIT" && pwd)
BUILD=$(dirname "$BIN")
LIB=$BUILD/libcleanrelease.a
C=${CR_BENCH_DIR:-/tmp/cr-bench}
export CR_BENCH_DIR=$C
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

QUICK=${CR_BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  RUNS=${CR_BENCH_RUNS:-3}
  LEDGER_SIZES=${CR_BENCH_LEDGER_SIZES:-100 1000}
  APPENDS=${CR_BENCH_APPENDS:-20}
else
  RUNS=${CR_BENCH_RUNS:-5}
  LEDGER_SIZES=${CR_BENCH_LEDGER_SIZES:-100 1000 10000}
  APPENDS=${CR_BENCH_APPENDS:-50}
fi
DISTINCT_SIZES=${CR_BENCH_LEDGER_DISTINCT_SIZES:-100 1000}
CLI_APPENDS=20
QUERY_RUNS=20
QUIET_WAIT=${CR_BENCH_QUIET_WAIT:-60}
[ "$RUNS" -ge 3 ] || die "CR_BENCH_RUNS must be at least 3 (anchors.sh needs 3)"

# Targets of this benchmark (docs/benchmarks.md). The kit's README has looser
# ones for some (run/rg <= 1.0, scaling >= 1.8, import/sha256sum <= 1.2).
T_APPEND_MS=5          # in-process append median, at every ledger size
T_APPEND_RATIO=1.0     # append median / naive plumbing loop median
T_SHOW_MS=10           # candidate show --json (CLI, wall) at the largest size
T_PAGE_MS=20           # candidate list --limit 100 --json (CLI, wall), first and middle page, every size
T_RANGE_MS=50          # verify --range of the last 50 ledger commits (CLI, wall) at the largest size
T_IMPORT_RATIO=0.6     # import min / sha256sum -P2 min
T_RUN_RATIO=0.5        # compliance run --jobs 2 min / rg -j2 min
T_SCALING=1.75         # time(--jobs 1) / time(--jobs 2), from the mins
T_RSS_KIB=$((64 * 1024))
T_VIOL_S=2.0           # 100,000 violations: at most this much slower than a clean run

TMPFS_DIR=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -z "${OLD:-}" ] || rm -rf "$OLD"
  [ -z "$TMPFS_DIR" ] || rm -rf "$TMPFS_DIR"
}
trap cleanup EXIT

# ---------------------------------------------------------------- tools
try_install() {
  [ "${CR_BENCH_NO_INSTALL:-0}" != 1 ] || return 1
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  note "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1
}
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  die "npm and node are needed to build the benchmark corpus: install the Debian packages nodejs and npm (apt-get install nodejs npm), then run make bench again"
fi
command -v rg >/dev/null 2>&1 || die "ripgrep (rg) not found: run make deps"
command -v jq >/dev/null 2>&1 || die "jq not found: run make deps"
command -v git >/dev/null 2>&1 || die "git not found: run make deps"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found: run make deps"
if ! command -v cc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then die "cc/pkg-config not found: run make deps"; fi
[ -f "$LIB" ] || die "$LIB not found: run make first"
if [ ! -x /usr/bin/time ]; then try_install time || true; fi
HAVE_TIME=0; [ -x /usr/bin/time ] && HAVE_TIME=1
[ "$HAVE_TIME" = 1 ] || note "warning: /usr/bin/time missing (Debian package time): peak RSS from the LD_PRELOAD shim only"

# ---------------------------------------------------------------- helpers
# "min median" of integers given as arguments.
min_median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%d %d\n", a[1], m }'
}
percentile() {
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {
    r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print a[r] }'
}
us2s() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }
us2ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e3 }'; }
mbps() { awk -v b="$1" -v u="$2" 'BEGIN { printf "%.1f", (u > 0) ? b / u : 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "null" }'; }
# met VALUE OP LIMIT -> "met" / "NOT met" (OP: le or ge)
met() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
  if (v == "" || v == "null") { print "n/a"; exit }
  ok = (op == "le") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "NOT met" }'; }
now_us() { echo "${EPOCHREALTIME/./}"; }

# Busy share (%) of all CPUs over 0.5 s, from /proc/stat (idle + iowait
# counted as idle); nothing of this benchmark runs while it is taken.
cpu_sample() { awk '/^cpu / {t = 0; for (k = 2; k <= NF; k++) t += $k; print $5 + $6, t}' /proc/stat; }
cpu_busy() {
  local a b
  a=$(cpu_sample); sleep 0.5; b=$(cpu_sample)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); dt = y[2] - x[2]; di = y[1] - x[1]
    printf "%d", (dt > 0) ? 100 * (dt - di) / dt : 0 }'
}
# Waits (at most QUIET_WAIT s) until the machine is mostly idle; records the
# busy share seen last in BUSY[$1].
declare -A BUSY=()
BUGS=()
quiet() {
  local what=$1 b waited=0
  b=$(cpu_busy)
  while [ "$b" -gt 15 ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
    [ "$waited" -eq 0 ] && note "machine busy (${b}% CPU used by others) before $what; waiting up to ${QUIET_WAIT}s"
    sleep 2; waited=$((waited + 3))
    b=$(cpu_busy)
  done
  BUSY[$what]=$b
  [ "$b" -le 15 ] || note "warning: still ${b}% busy before $what; its figures are disturbed"
}

W=$C/run
JS=$W/json
A=$C/anchors.json
aj() { jq -r "$1" "$A"; }
REPORT_ONLY=${CR_BENCH_REPORT_ONLY:-0}
if [ "$REPORT_ONLY" = 1 ]; then
  [ -f "$JS/state.sh" ] || die "CR_BENCH_REPORT_ONLY=1 needs a finished run in $W"
  # shellcheck disable=SC1091
  . "$JS/state.sh"
  note "report only, from the measurements of $START in $W"
else
mkdir -p "$C"
# The previous run's scratch is deleted at the end, not now: on ext4, creating
# files shortly after deleting many (a 10,000-candidate ledger is ~170,000
# loose objects) makes inode allocation slow (recently_deleted()), and every
# ledger append creates ~16 files.
OLD=
if [ -e "$W" ]; then OLD=$C/run.old.$$; mv "$W" "$OLD"; fi
mkdir -p "$W/json" "$W/bin"
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "scratch $W; kit $KIT; binary $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"

new_repo() {  # new_repo DIR: a repository with one commit tagged v1.0.0
  git init -q "$1"
  git -C "$1" -c user.name=bench -c user.email=bench@example.invalid commit -q --allow-empty -m "bench source"
  git -C "$1" tag v1.0.0
}

# ---------------------------------------------------------------- 0. bench programs
PKGS="libgit2 libcjson libpcre2-8 libcrypto libhs"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$ROOT/src" -I"$BUILD/gen" $(pkg-config --cflags $PKGS) \
  -o "$W/bin/ledger_bench" "$ROOT/tests/bench/ledger_bench.c" "$LIB" $(pkg-config --libs $PKGS) -lpthread -lm \
  || die "cannot build tests/bench/ledger_bench.c against $LIB"
cc -shared -fPIC -O2 -Wall -Wextra -o "$W/bin/rss_shim.so" "$ROOT/tests/bench/rss_shim.c" \
  || die "cannot build tests/bench/rss_shim.c"
LB=$W/bin/ledger_bench
SHIM=$W/bin/rss_shim.so

# ---------------------------------------------------------------- 1. corpus, policy, anchors
note "1. corpus, policy, anchors"
"$KIT/build-corpus.sh" medium "$C/medium" >&2
CORPUS=$C/medium
/usr/bin/python3 "$KIT/rules-to-policy.py" -o "$C/policy" >&2
# The kit's registry allows the source prefix "npm:", which the registry schema
# (schemas/registry.schema.json, as the spec's) refuses: a prefix needs at least
# one byte after the scheme. Same meaning, schema-valid: one prefix per first
# byte an npm package name can have.
jq '.allowed_sources = [("@","0","1","2","3","4","5","6","7","8","9","a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z") as $c
    | {id: ("npm-" + (if $c == "@" then "scoped" else $c end)), prefix: ("npm:" + $c)}]' \
  "$C/policy/registry.json" >"$W/registry.json"
POLICY=$C/policy/policy.json
REGISTRY=$W/registry.json
find "$CORPUS/dist" -type f -print0 | sort -z >"$W/files0"   # absolute paths
BYTES=$(find "$CORPUS/dist" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')
NFILES=$(tr -cd '\0' <"$W/files0" | wc -c)
# Re-reads files (absolute paths, NUL-separated list) into the page cache
# before each timed run: this kernel's DAMON evicts pages unread for ~1 min.
warm() { xargs -0 -n 2048 cat -- <"${1:-$W/files0}" >/dev/null || note "warning: re-reading ${1:-the corpus} failed"; }

if [ "${CR_BENCH_REUSE_ANCHORS:-0}" = 1 ] && [ -f "$C/anchors.json" ]; then
  note "reusing $C/anchors.json (CR_BENCH_REUSE_ANCHORS=1: the ratios are NOT from the same run)"
  ANCHORS_REUSED=true
else
  quiet anchors
  CR_BENCH_LEDGER_SIZES="$LEDGER_SIZES" CR_BENCH_APPENDS="$APPENDS" \
    "$KIT/anchors.sh" -r "$RUNS" -o "$C/anchors.json" "$CORPUS" | tee "$W/anchors.txt"
  ANCHORS_REUSED=false
fi

# ---------------------------------------------------------------- 2. + 3. ledger
note "2. ledger append"
cli_spawn() {  # what one CLI process start costs: $BIN --version
  local t0 t1 k
  t0=$(now_us); for ((k = 0; k < 20; k++)); do "$BIN" --version >/dev/null; done; t1=$(now_us)
  echo $(((t1 - t0) / 20))
}
SPAWN_BIN=$(cli_spawn)
for size in $LEDGER_SIZES; do
  R=$W/ledger-$size
  new_repo "$R"
  note "ledger $size: growing (in-process register x $size)"
  "$LB" grow "$R" "$size" --snapshot v1.0.0 >"$JS/ledger-$size-grow.json"
  quiet "ledger-$size"
  note "ledger $size: timing $APPENDS in-process appends"
  "$LB" append "$R" $((size + 1)) "$APPENDS" --snapshot v1.0.0 >"$JS/ledger-$size-append.json"
  note "ledger $size: timing $CLI_APPENDS appends through the CLI (one process each)"
  times=()
  for ((k = 1; k <= CLI_APPENDS; k++)); do
    t0=$(now_us)
    "$BIN" -C "$R" -q candidate register --candidate-id "cli-$k" --version 1.0.0 \
      --source-snapshot v1.0.0 --actor bench
    t1=$(now_us)
    times+=($((t1 - t0)))
  done
  read -r mn md < <(min_median "${times[@]}")
  p90=$(percentile 90 "${times[@]}")
  jq -n --argjson mn "$(us2ms "$mn")" --argjson md "$(us2ms "$md")" --argjson p90 "$(us2ms "$p90")" \
    --argjson n "$CLI_APPENDS" '{appends: $n, min_ms: $mn, median_ms: $md, p90_ms: $p90}' >"$JS/ledger-$size-cli.json"
  note "ledger $size: candidate list --limit 100 --json ($QUERY_RUNS runs, first and middle page)"
  "$HERE/page.sh" "$BIN" "$R" "$QUERY_RUNS" >"$JS/page-$size.json"
  note "ledger $size: the TUI's first screen and idle refresh (contrib/bench/tui.sh)"
  follow=0; [ "$size" = "${LEDGER_SIZES##* }" ] && follow=1
  "$HERE/tui.sh" "$BIN" "$R" "$follow" >"$JS/tui-$size.json" 2>"$W/tui-$size.log" ||
    { BUGS+=("tui.sh failed at $size: $(tail -n 1 "$W/tui-$size.log")"); echo '{}' >"$JS/tui-$size.json"; }
  LAST_SIZE=$size LAST_REPO=$R
done

note "3. candidate show / list at $LAST_SIZE candidates"
quiet query
SHOW_ID=$(printf 'cand-%06d' $((LAST_SIZE / 2)))
"$LB" query "$LAST_REPO" "$SHOW_ID" "$QUERY_RUNS" >"$JS/query-inprocess.json"
show_t=() list_t=() range_t=()
for ((k = 0; k < QUERY_RUNS; k++)); do
  t0=$(now_us); "$BIN" -C "$LAST_REPO" verify --range refs/clean-release/ledger~50.. --json >"$W/range.json"; t1=$(now_us)
  range_t+=($((t1 - t0)))
  t0=$(now_us); "$BIN" -C "$LAST_REPO" candidate show --candidate-id "$SHOW_ID" --json >"$W/show.json"; t1=$(now_us)
  show_t+=($((t1 - t0)))
  t0=$(now_us); "$BIN" -C "$LAST_REPO" candidate list --json >"$W/list.json"; t1=$(now_us)
  list_t+=($((t1 - t0)))
done
LISTED=$(jq '.candidates | length' "$W/list.json")
read -r smn smd < <(min_median "${show_t[@]}")
read -r lmn lmd < <(min_median "${list_t[@]}")
read -r vmn vmd < <(min_median "${range_t[@]}")
[ "$(jq .commits "$W/range.json")" = 50 ] || die "verify --range read $(jq .commits "$W/range.json") commits, not 50"
jq -n --argjson size "$LAST_SIZE" --argjson listed "$LISTED" --argjson runs "$QUERY_RUNS" \
  --argjson smn "$(us2ms "$smn")" --argjson smd "$(us2ms "$smd")" --argjson sp90 "$(us2ms "$(percentile 90 "${show_t[@]}")")" \
  --argjson lmn "$(us2ms "$lmn")" --argjson lmd "$(us2ms "$lmd")" --argjson lp90 "$(us2ms "$(percentile 90 "${list_t[@]}")")" \
  --argjson vmn "$(us2ms "$vmn")" --argjson vmd "$(us2ms "$vmd")" --argjson vp90 "$(us2ms "$(percentile 90 "${range_t[@]}")")" \
  '{ledger_size: $size, listed: $listed, runs: $runs,
    show: {min_ms: $smn, median_ms: $smd, p90_ms: $sp90}, list: {min_ms: $lmn, median_ms: $lmd, p90_ms: $lp90},
    verify_range_50: {min_ms: $vmn, median_ms: $vmd, p90_ms: $vp90}}' \
  >"$JS/query-cli.json"

note "2b. ledger append, one source commit per candidate (status notes tree grows)"
for size in $DISTINCT_SIZES; do
  R=$W/ledger-distinct-$size
  git init -q "$R"
  for ((i = 1; i <= size + APPENDS; i++)); do
    printf 'commit refs/heads/main\ncommitter Bench <bench@example.invalid> %d +0000\ndata 7\nc%06d\n\n' $((1764072000 + i)) "$i"
  done | git -C "$R" fast-import --quiet
  git -C "$R" rev-list --reverse refs/heads/main >"$W/commits-$size"
  "$LB" grow "$R" "$size" --commits "$W/commits-$size" >"$JS/distinct-$size-grow.json"
  quiet "distinct-$size"
  "$LB" append "$R" $((size + 1)) "$APPENDS" --commits "$W/commits-$size" >"$JS/distinct-$size-append.json"
done

# The same appends on tmpfs: what is left without the filesystem's inode
# allocation (for information; the figures above are on $C's filesystem).
TMPFS_SIZES=${CR_BENCH_TMPFS_SIZES-$LEDGER_SIZES}
if [ -n "$TMPFS_SIZES" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPFS_DIR=$(mktemp -d /dev/shm/cr-bench-ledger.XXXXXX)
  for size in $TMPFS_SIZES; do
    note "2c. ledger append on tmpfs ($TMPFS_DIR), $size candidates"
    new_repo "$TMPFS_DIR/r$size"
    "$LB" grow "$TMPFS_DIR/r$size" "$size" --snapshot v1.0.0 >/dev/null
    quiet "tmpfs-$size"
    "$LB" append "$TMPFS_DIR/r$size" $((size + 1)) "$APPENDS" --snapshot v1.0.0 \
      | jq --argjson size "$size" '. + {size: $size}' >"$JS/tmpfs-$size-append.json"
  done
  rm -rf "$TMPFS_DIR"; TMPFS_DIR=
fi

# What one CLI process pays before it does anything: exec + dynamic linking
# (--version, above), the first git_libgit2_init(), opening the facade.
for ((k = 0; k < 20; k++)); do "$LB" startup "$LAST_REPO" "$SHOW_ID"; done \
  | jq -s '{runs: length, libgit2_init_ms: (map(.libgit2_init_ms) | sort | .[length / 2 | floor]),
            facade_open_ms: (map(.facade_open_ms) | sort | .[length / 2 | floor]),
            first_show_ms: (map(.show_ms) | sort | .[length / 2 | floor])}' >"$JS/startup.json"

note "3c. the REST API at $LAST_SIZE candidates (wrk, beside the nginx anchor)"
quiet api
"$HERE/api.sh" "$BIN" "$LAST_REPO" "$POLICY" "$REGISTRY" >"$JS/api.json" || { BUGS+=("api.sh failed"); echo '{}' >"$JS/api.json"; }

note "3d. the server's pre-receive at $LAST_SIZE candidates, and sync (contrib/bench/distributed.sh)"
quiet distributed
"$HERE/distributed.sh" "$BIN" "$LAST_REPO" "$POLICY" "$REGISTRY" >"$JS/distributed.json" 2>"$W/distributed.log" ||
  { BUGS+=("distributed.sh failed: $(tail -n 1 "$W/distributed.log")"); echo '{}' >"$JS/distributed.json"; }

note "3f. signed evidence at $LAST_SIZE candidates (contrib/bench/trust.sh)"
quiet trust
"$HERE/trust.sh" "$BIN" "$LB" "$POLICY" "$REGISTRY" "$LAST_SIZE" >"$JS/trust.json" 2>"$W/trust.log" ||
  { BUGS+=("trust.sh failed: $(tail -n 1 "$W/trust.log")"); echo '{}' >"$JS/trust.json"; }

note "3g. a detached run against a foreground one (contrib/bench/detach.sh)"
quiet detach
TMPDIR=$W "$HERE/detach.sh" "$BIN" "$POLICY" "$REGISTRY" 60 >"$JS/detach.json" 2>"$W/detach.log" ||
  { BUGS+=("detach.sh failed: $(tail -n 1 "$W/detach.log")"); echo '{}' >"$JS/detach.json"; }

# ---------------------------------------------------------------- 4. + 5. import and compliance
note "4./5. import and compliance run on the medium corpus ($NFILES files, $BYTES bytes), $RUNS runs each"
REPO=$W/repo
new_repo "$REPO"
cr() { "$BIN" -C "$REPO" "$@"; }
cr -q policy publish --policy "$POLICY" --registry "$REGISTRY" --actor bench \
  || die "policy publish of the bench policy failed"

# run_compliance ID MID JOBS TAG: one timed `compliance run` under /usr/bin/time -v
# with the RSS shim; writes $JS/run-TAG.json, sets RUN_US (wall, us).
run_compliance() {
  local id=$1 mid=$2 jobs=$3 tag=$4 t0 t1 rc=0 tv=() fs runid tmax=0 ucpu=0 scpu=0 self=0 wmax=0 nw=0 rcpu=0 wcpu=0
  rm -f "$W/rss.$tag" "$W/time.$tag"
  [ "$HAVE_TIME" = 1 ] && tv=(/usr/bin/time -v -o "$W/time.$tag")
  t0=$(now_us)
  "${tv[@]}" env CR_RSS_LOG="$W/rss.$tag" LD_PRELOAD="$SHIM" "$BIN" -C "$REPO" compliance run \
    --candidate-id "$id" --manifest-id "$mid" --jobs "$jobs" --actor bench --json >"$W/run.$tag.json" 2>"$W/run.$tag.err" || rc=$?
  t1=$(now_us)
  fs=$(jq -r '.final_status // .error.code // "?"' "$W/run.$tag.json" 2>/dev/null || echo '?')
  runid=$(jq -r '.run_id // ""' "$W/run.$tag.json" 2>/dev/null || echo '')
  if [ "$rc" != 0 ]; then
    note "BUG? compliance run $id --jobs $jobs exited $rc ($fs): $(head -c 300 "$W/run.$tag.err")"
    BUGS+=("compliance run $id --jobs $jobs exited $rc ($fs): $(head -c 200 "$W/run.$tag.err" | tr '\n' ' ')")
  fi
  if [ -f "$W/time.$tag" ]; then
    tmax=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.$tag")
    ucpu=$(awk -F': ' '/User time/ {print $2}' "$W/time.$tag")
    scpu=$(awk -F': ' '/System time/ {print $2}' "$W/time.$tag")
  fi
  if [ -f "$W/rss.$tag" ]; then
    self=$(awk '$1 == "self" {print $3}' "$W/rss.$tag" | sort -n | tail -n 1)
    wmax=$(awk '$1 == "child" {print $3}' "$W/rss.$tag" | sort -n | tail -n 1)
    nw=$(awk '$1 == "child"' "$W/rss.$tag" | wc -l)
    rcpu=$(awk '$1 == "self" {print $4}' "$W/rss.$tag" | tail -n 1)
    wcpu=$(awk '$1 == "child" {s += $4} END {print s + 0}' "$W/rss.$tag")
  fi
  jq -n --arg id "$id" --arg run "$runid" --arg fs "$fs" --argjson jobs "$jobs" --argjson rc "$rc" \
    --argjson us $((t1 - t0)) --argjson tmax "${tmax:-0}" --argjson self "${self:-0}" --argjson wmax "${wmax:-0}" \
    --argjson nw "${nw:-0}" --argjson u "${ucpu:-0}" --argjson s "${scpu:-0}" \
    --argjson rcpu "${rcpu:-0}" --argjson wcpu "${wcpu:-0}" \
    '{candidate_id: $id, run_id: $run, final_status: $fs, jobs: $jobs, exit: $rc, wall_us: $us,
      time_v_max_rss_kib: $tmax, runner_rss_kib: $self, worker_max_rss_kib: $wmax, workers_reaped: $nw,
      user_s: $u, sys_s: $s, runner_cpu_us: $rcpu, workers_cpu_us: $wcpu}' >"$JS/run-$tag.json"
  RUN_US=$((t1 - t0))
}

# prepare ID INPUT: register + import (timed, echoes us) ; sets MID after manifest build
prepare() {
  local id=$1 input=$2 files0=$3 t0 t1 rc=0
  cr -q candidate register --candidate-id "$id" --version 1.0.0 --source-snapshot v1.0.0 --actor bench
  warm "$files0"
  t0=$(now_us)
  cr -q candidate import-artifacts --candidate-id "$id" --input "$input" --actor bench 2>"$W/import.err" || rc=$?
  t1=$(now_us)
  if [ "$rc" != 0 ]; then
    BUGS+=("import-artifacts $id exited $rc: $(head -c 200 "$W/import.err" | tr '\n' ' ')")
    note "BUG? import-artifacts $id exited $rc: $(head -c 300 "$W/import.err")"
    IMPORT_US=0; MID=; return 1
  fi
  IMPORT_US=$((t1 - t0))
  MID=$(cr manifest build --candidate-id "$id" --actor bench --json | jq -r '.manifest_id // empty') || true
  [ -n "$MID" ] || { BUGS+=("manifest build $id failed"); note "BUG? manifest build $id failed"; return 1; }
}

imports=() run1=() run2=()
quiet compliance
# One untimed warm-up (first run pays page faults of the binary, schema caches...).
prepare warmup "$CORPUS/artifacts.json" "$W/files0" && { warm; run_compliance warmup "$MID" 2 warmup; }
for ((i = 1; i <= RUNS; i++)); do
  for jobs in 1 2; do
    id=bench-$i-j$jobs
    if prepare "$id" "$CORPUS/artifacts.json" "$W/files0"; then
      imports+=("$IMPORT_US")
      warm
      run_compliance "$id" "$MID" "$jobs" "$i-j$jobs"; us=$RUN_US
      if [ "$jobs" = 1 ]; then run1+=("$us"); else run2+=("$us"); fi
      note "run $i --jobs $jobs: import $(us2s "$IMPORT_US") s, compliance run $(us2s "$us") s ($(jq -r .final_status "$JS/run-$i-j$jobs.json"))"
    fi
  done
done
FIRST_RUN=$(jq -r .run_id "$JS/run-1-j2.json" 2>/dev/null || echo)
if [ -n "$FIRST_RUN" ]; then
  cr compliance report --run-id "$FIRST_RUN" --json >"$W/report.json" 2>"$W/report.err" \
    || BUGS+=("compliance report --run-id $FIRST_RUN failed: $(head -c 200 "$W/report.err")")
  jq '.violation_counts // {}' "$W/report.json" >"$JS/violation_counts.json" 2>/dev/null || echo '{}' >"$JS/violation_counts.json"
else
  echo '{}' >"$JS/violation_counts.json"
fi

# Cross-check of the shim's per-worker figures: one more (untimed) run with a
# /proc sampler reading VmHWM of the runner and each of its children every 50 ms.
note "5b. /proc VmHWM sampler cross-check (untimed run)"
if prepare rss-check "$CORPUS/artifacts.json" "$W/files0"; then
  warm
  rm -f "$W/rss.sampler"
  env CR_RSS_LOG="$W/rss.sampler" LD_PRELOAD="$SHIM" "$BIN" -C "$REPO" -q compliance run --candidate-id rss-check \
    --manifest-id "$MID" --jobs 2 --actor bench >/dev/null 2>&1 &
  rpid=$!
  declare -A HWM=()
  samples=0
  while :; do
    st=$(awk '/^State:/ {print $2}' "/proc/$rpid/status" 2>/dev/null || true)
    if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
    kids=$(cat "/proc/$rpid/task/$rpid/children" 2>/dev/null || true)
    for p in $rpid $kids; do
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
      [ -n "$v" ] || continue
      if [ -z "${HWM[$p]:-}" ] || [ "$v" -gt "${HWM[$p]}" ]; then HWM[$p]=$v; fi
    done
    samples=$((samples + 1))
    sleep 0.05
  done
  wait "$rpid" || true
  {
    for p in "${!HWM[@]}"; do
      role=worker; [ "$p" = "$rpid" ] && role=runner
      printf '{"pid": %d, "role": "%s", "vmhwm_kib": %d}\n' "$p" "$role" "${HWM[$p]}"
    done
  } | jq -s --argjson samples "$samples" --rawfile shim "$W/rss.sampler" \
      '{samples: $samples, sampled: ., shim: ($shim | split("\n") | map(select(length > 0) | split(" ") | {kind: .[0], pid: (.[1] | tonumber), maxrss_kib: (.[2] | tonumber)}))}' \
      >"$JS/rss-sampler.json"
fi

# ---------------------------------------------------------------- 6. 100,000 violations
note "6. 100,000 violations vs a clean corpus of the same size"
SYN=$W/synth
for kind in hits clean; do
  mkdir -p "$SYN/$kind/dist"
  for ((f = 0; f < 100; f++)); do
    # Same length per line in both: "https://" in hits, "site:///" in clean.
    awk -v f="$f" -v kind="$kind" 'BEGIN {
      s = (kind == "hits") ? "https://" : "site:///"
      for (i = 0; i < 1000; i++)
        printf "export const u%03d_%04d = \"%stracker.telemetry-collector.test/collect?f=%03d&line=%04d\"; // bench\n", f, i, s, f, i
    }' >"$SYN/$kind/dist/file-$(printf %03d "$f").js"
  done
  (cd "$SYN/$kind" && find dist -type f | sort | jq -R -s 'split("\n") | map(select(length > 0) | {path: ., source: "npm:synthetic@1.0.0"}) | {artifacts: .}' >artifacts.json)
  find "$SYN/$kind/dist" -type f -print0 | sort -z >"$W/files0.$kind"
done
HITS_RG=$(cd "$SYN/hits" && rg -P -c -f "$KIT/rules.txt" dist | awk -F: '{s += $NF} END {print s + 0}')
CLEAN_RG=$(cd "$SYN/clean" && { rg -P -c -f "$KIT/rules.txt" dist || true; } | awk -F: '{s += $NF} END {print s + 0}')
SYN_BYTES=$(find "$SYN/hits/dist" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
hits_t=() clean_t=()
quiet violations
for ((i = 1; i <= RUNS; i++)); do
  for kind in clean hits; do
    id=synth-$kind-$i
    if prepare "$id" "$SYN/$kind/artifacts.json" "$W/files0.$kind"; then
      warm "$W/files0.$kind"
      run_compliance "$id" "$MID" 2 "synth-$kind-$i"; us=$RUN_US
      if [ "$kind" = hits ]; then hits_t+=("$us"); else clean_t+=("$us"); fi
    fi
  done
done
HITS_RUN=$(jq -r .run_id "$JS/run-synth-hits-1.json" 2>/dev/null || echo)
if [ -n "$HITS_RUN" ]; then
  cr compliance report --run-id "$HITS_RUN" --json 2>/dev/null | jq '.violation_counts // {}' >"$JS/synth-violation_counts.json" \
    || echo '{}' >"$JS/synth-violation_counts.json"
else
  echo '{}' >"$JS/synth-violation_counts.json"
fi

# ---------------------------------------------------------------- 6b. bounded evidence
note "6b. verify and compliance violations --json at 100,000 and 1,000,000 recorded violations"
quiet evidence
"$HERE/evidence.sh" "$BIN" "$W/evidence" "$POLICY" "$REGISTRY" "$RUNS" >"$JS/evidence.json" \
  || { BUGS+=("evidence.sh failed"); echo '{"sizes": []}' >"$JS/evidence.json"; }

# ---------------------------------------------------------------- optional profile
# perf with DWARF call graphs (the build has no frame pointers): the share of
# samples per process (runner = the process started; workers = its children)
# and the runner's and a worker's heaviest call-graph entries (inclusive).
if [ "${CR_BENCH_PROFILE:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
  note "profile: perf record of one compliance run --jobs 2"
  if prepare profile "$CORPUS/artifacts.json" "$W/files0"; then
    warm
    perf record -q -F 999 --call-graph dwarf,16384 -o "$W/perf.data" -- "$BIN" -C "$REPO" -q compliance run \
      --candidate-id profile --manifest-id "$MID" --jobs 2 --actor bench >/dev/null 2>&1 || true
    perf script -i "$W/perf.data" -F pid 2>/dev/null | sort -n | uniq -c | sort -k2 -n >"$W/perf-pids.txt" || true
    rp=$(awk 'NR == 1 {print $2}' "$W/perf-pids.txt")
    {
      echo "samples per process (pid: samples), runner first:"
      awk '{printf "  %s: %s\n", $2, $1}' "$W/perf-pids.txt"
      echo "runner $rp: inclusive share of all samples (a function and everything it calls), top entries:"
      perf report -i "$W/perf.data" --stdio --children --pid "$rp" --sort symbol -g none --percent-limit 2.5 2>/dev/null \
        | awk '/%/ && !/^#/ && !/\[k\]/ && $4 !~ /^0x/ && !seen[$4]++ {printf "    %7s  %s\n", $1, $4}' | head -n 18 || true
      echo "self time by process and library, share of all samples (runner $rp; workers: the others):"
      perf report -i "$W/perf.data" --stdio --no-children --sort pid,dso -g none --percent-limit 0.5 2>/dev/null \
        | awk '/%/ && !/^#/ {d = $3; for (k = 4; k <= NF; k++) d = d " " $k; printf "    %7s  %-24s %s\n", $1, $2, d}' | head -n 20 || true
    } >"$W/perf-top.txt"
  fi
fi

# Everything step 7 needs, for CR_BENCH_REPORT_ONLY=1.
declare -p START ANCHORS_REUSED BYTES NFILES SPAWN_BIN LAST_SIZE FIRST_RUN SYN_BYTES HITS_RG CLEAN_RG \
  BUSY BUGS imports run1 run2 hits_t clean_t >"$JS/state.sh"
fi  # not REPORT_ONLY

# ---------------------------------------------------------------- 7. figures, table
# shellcheck source=contrib/bench/report.sh
. "$HERE/report.sh"
