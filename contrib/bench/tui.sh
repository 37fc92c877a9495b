#!/bin/bash
# contrib/bench/tui.sh BIN REPO [FOLLOW] — the TUI under tmux on REPO (a
# ledger grown by tests/bench/ledger_bench.c, tagged v1.0.0): bench.sh, at
# every ledger size.
#   1. the first full screen: from starting `clean-release tui` in a
#      detached 80x24 tmux session until the pane shows the selected
#      candidate (tmux's own start included), median of 5
#   2. the CPU of one idle refresh: the TUI's utime+stime (/proc) over 20 s
#      of nothing happening, divided by the refreshes it made (one a second)
#   3. FOLLOW=1: a check of 500 files, 200 MB (--jobs 2), 3 runs without a TUI and
#      3 with one following it, the run's wall time each, and the TUI's CPU
#      while it follows
# Prints one JSON object.
set -euo pipefail
export LC_ALL=C.UTF-8
[ $# -ge 2 ] || { echo "usage: tui.sh BIN REPO [FOLLOW]" >&2; exit 2; }
BIN=$1 REPO=$2 FOLLOW=${3:-0}
command -v tmux >/dev/null || { echo "tui.sh: tmux not found (Debian package tmux): run make deps" >&2; exit 1; }
T=$(mktemp -d)
S=$T/tmux.sock
cleanup() { tmux -S "$S" kill-server 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
now_us() { echo $(($(date +%s%N) / 1000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }  # time on a CPU, ns

start() {  # start SESSION ARGS...: the TUI in a detached 80x24 session; prints its pid
  local s=$1
  shift
  tmux -u -S "$S" new-session -d -s "$s" -x 80 -y 24 -c "$REPO" "exec $BIN $*"
  tmux -S "$S" list-panes -t "$s" -F '#{pane_pid}'
}
shows() { tmux -S "$S" capture-pane -p -t "$1" | grep -qF -- "$2"; }

# ---- 1. the first screen
firsts=()
for _ in 1 2 3 4 5; do
  t0=$(now_us)
  start first tui >/dev/null
  until shows first "Candidate "; do sleep 0.002; done
  t1=$(now_us)
  firsts+=($((t1 - t0)))
  tmux -S "$S" kill-session -t first
done

# ---- 2. an idle refresh
pid=$(start idle tui)
until shows idle "Candidate "; do sleep 0.01; done
sleep 1
c0=$(cpu_ns "$pid")
sleep 20
c1=$(cpu_ns "$pid")
tmux -S "$S" kill-session -t idle
IDLE_MS=$(awk -v t=$((c1 - c0)) 'BEGIN { printf "%.3f", t / 1e6 / 20 }')

FOLLOW_JSON=null
if [ "$FOLLOW" = 1 ]; then
  # ---- 3. following a running check
  mkdir -p "$T/art/dist"
  for i in $(seq 500); do head -c 307200 /dev/urandom | base64 >"$T/art/dist/f$i.txt"; done
  # No source: every artifact a BLOCKER (builtin:source-missing), so the
  # candidate stays CHECK_BLOCKED and may be checked again and again.
  (cd "$T/art" && ls dist) | jq -R '{path: ("dist/" + .)}' | jq -s '{artifacts: .}' >"$T/art/artifacts.json"
  runs() {  # runs CID N: N runs of CID, wall µs each on stdout
    local k t0 t1
    for ((k = 0; k < $2; k++)); do
      t0=$(now_us)
      "$BIN" -C "$REPO" -q compliance run --candidate-id "$1" --manifest-id "$M" --actor bench --jobs 2 || true
      t1=$(now_us)
      echo $((t1 - t0))
    done
  }
  "$BIN" -C "$REPO" -q candidate register --candidate-id tui-follow-$$ --version 1 --source-snapshot v1.0.0 --actor bench
  "$BIN" -C "$REPO" -q candidate import-artifacts --candidate-id tui-follow-$$ --input "$T/art/artifacts.json" --actor bench
  M=$("$BIN" -C "$REPO" --json manifest build --candidate-id tui-follow-$$ --actor bench | jq -r .manifest_id)
  runs tui-follow-$$ 1 >/dev/null # the caches warm
  mapfile -t without < <(runs tui-follow-$$ 3)
  pid=$(start follow tui --candidate-id tui-follow-$$)
  until shows follow "Candidate tui-follow-$$"; do sleep 0.01; done
  c0=$(cpu_ns "$pid")
  mapfile -t with < <(runs tui-follow-$$ 3)
  sleep 2 # the TUI sees the last run's end on its next tick
  c1=$(cpu_ns "$pid")
  tmux -S "$S" kill-session -t follow
  FOLLOW_JSON=$(jq -n --argjson wo "$(median "${without[@]}")" --argjson wi "$(median "${with[@]}")" \
    --argjson cpu "$(awk -v t=$((c1 - c0)) 'BEGIN { printf "%.1f", t / 1e6 }')" \
    '{files: 500, bytes: (500 * 414993), run_without_tui_ms: ($wo / 1000), run_with_tui_ms: ($wi / 1000), tui_cpu_ms_over_3_runs_and_2_s: $cpu,
      slowdown: (if $wo > 0 then (($wi / $wo) * 1000 | round / 1000) else null end)}')
fi

jq -n --argjson first "$(median "${firsts[@]}")" --argjson idle "$IDLE_MS" --argjson follow "$FOLLOW_JSON" \
  '{first_screen_ms: ($first / 1000), idle_refresh_cpu_ms: $idle, follow: $follow}'
