# contrib/bench/report.sh — sourced by bench.sh after the measurements (or
# alone with CR_BENCH_REPORT_ONLY=1): the figures, bench.json and the table.
# It reads bench.sh's variables and its $JS directory of measurements.
# ---------------------------------------------------------------- 7. figures
note "7. figures"
read -r imn imd < <(min_median "${imports[@]:-0}")
read -r r1mn r1md < <(min_median "${run1[@]:-0}")
read -r r2mn r2md < <(min_median "${run2[@]:-0}")
read -r hmn hmd < <(min_median "${hits_t[@]:-0}")
read -r cmn cmd < <(min_median "${clean_t[@]:-0}")
RG1_MIN=$(aj .scan.rg_j1.min_s) RG1_MED=$(aj .scan.rg_j1.median_s)
RG2_MIN=$(aj .scan.rg_j2.min_s) RG2_MED=$(aj .scan.rg_j2.median_s)
SHA2_MIN=$(aj .hash.sha256sum_p2.min_s) SHA2_MED=$(aj .hash.sha256sum_p2.median_s)
s2us() { awk -v s="$1" 'BEGIN { printf "%d", s * 1e6 }'; }

RUN_RATIO_MIN=$(ratio "$r2mn" "$(s2us "$RG2_MIN")") RUN_RATIO_MED=$(ratio "$r2md" "$(s2us "$RG2_MED")")
RUN1_RATIO_MIN=$(ratio "$r1mn" "$(s2us "$RG1_MIN")") RUN1_RATIO_MED=$(ratio "$r1md" "$(s2us "$RG1_MED")")
SCALING_MIN=$(ratio "$r1mn" "$r2mn") SCALING_MED=$(ratio "$r1md" "$r2md")
IMPORT_RATIO_MIN=$(ratio "$imn" "$(s2us "$SHA2_MIN")") IMPORT_RATIO_MED=$(ratio "$imd" "$(s2us "$SHA2_MED")")
VIOL_DIFF_MIN=$(awk -v a="$hmn" -v b="$cmn" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
VIOL_DIFF_MED=$(awk -v a="$hmd" -v b="$cmd" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
RSS_MAX=$(jq -s '[.[] | select(.candidate_id | startswith("bench-")) | .time_v_max_rss_kib, .runner_rss_kib, .worker_max_rss_kib] | max // 0' "$JS"/run-[0-9]*.json)
RUNNER_MAX=$(jq -s '[.[] | select(.candidate_id | startswith("bench-")) | .runner_rss_kib] | max // 0' "$JS"/run-[0-9]*.json)
WORKER_MAX=$(jq -s '[.[] | select(.candidate_id | startswith("bench-")) | .worker_max_rss_kib] | max // 0' "$JS"/run-[0-9]*.json)
TIMEV_MAX=$(jq -s '[.[] | select(.candidate_id | startswith("bench-")) | .time_v_max_rss_kib] | max // 0' "$JS"/run-[0-9]*.json)
# CPU of the runner and of all workers (rss_shim's rusage), medians over the --jobs 2 runs.
CPU_SPLIT=$(jq -s -c '[.[] | select((.candidate_id | startswith("bench-")) and .jobs == 2)]
  | def med: sort | if length == 0 then 0 else .[(length - 1) / 2 | floor] end;
  {runner_ms: ([.[].runner_cpu_us] | med / 1000 | floor), workers_ms: ([.[].workers_cpu_us] | med / 1000 | floor),
   runner_share_pct: ([.[] | if (.runner_cpu_us + .workers_cpu_us) > 0 then 100 * .runner_cpu_us / (.runner_cpu_us + .workers_cpu_us) else 0 end] | med * 10 | floor / 10)}' "$JS"/run-[0-9]*.json)
NGINX_RPS=$(aj '.http.req_s // 0')
API_RATIO=$(jq --argjson n "$NGINX_RPS" '[.show[]?.req_s] | if length > 0 and $n > 0 then (min / $n * 100 | round / 100) else null end' "$JS/api.json")
API_P99=$(jq '[.show[]?.p99_ms, .run[]?.p99_ms] | max // null' "$JS/api.json")
API_PAGE=$(jq '.list_page_100.median_ms // null' "$JS/api.json")
API_RSS=$(jq '.rss_kib | if . then ([.[].rss] | max) else null end' "$JS/api.json")
HOOK_MED=$(jq '.pre_receive_50.median_ms // null' "$JS/distributed.json")
tui_json=$(for size in $LEDGER_SIZES; do jq --argjson size "$size" '. + {size: $size}' "$JS/tui-$size.json"; done | jq -s .)
TUI_FIRST=$(jq '[.[].first_screen_ms // empty] | max // null' <<<"$tui_json")
TUI_IDLE=$(jq '[.[].idle_refresh_cpu_ms // empty] | max // null' <<<"$tui_json")
# No larger after the second round than after the first (the writers grow
# the ledger meanwhile), nor after a second round of the GET loads alone on
# the same ledger than after the first, within 1 %: the readings move by
# ±150 KiB from round to round, and a round is ~1.2 million requests, so a
# server that kept even half a byte a request would show.
API_FLAT=$(jq -r '.rss_kib | if . and .after_gets4 and .after_round2.rss <= .after_round1.rss * 1.01 and .after_gets4.rss <= .after_gets3.rss * 1.01 then "met" elif . then "NOT met" else "n/a" end' "$JS/api.json")
API_GROW=$(jq '.rss_kib | if . and .after_gets4 then ([.after_round2.rss - .after_round1.rss, .after_gets4.rss - .after_gets3.rss] | max) else null end' "$JS/api.json")
EVID_RSS=$(jq '[.sizes[] | .verify.max_rss_kib, .violations_json.max_rss_kib] | max // null' "$JS/evidence.json")
STATUSES=$(jq -s -r '[.[] | select(.candidate_id | startswith("bench-")) | .final_status] | group_by(.) | map("\(.[0]) x\(length)") | join(", ")' "$JS"/run-[0-9]*.json)

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
MEM_GIB=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
busy_json=$(for k in "${!BUSY[@]}"; do printf '%s\t%s\n' "$k" "${BUSY[$k]}"; done | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {}')
bugs_json=$(printf '%s\n' "${BUGS[@]+"${BUGS[@]}"}" | jq -R -s 'split("\n") | map(select(length > 0))')

# Ledger rows: size, in-process median/p90, CLI median, naive median, ratios, bytes.
ledger_json=$(
  for size in $LEDGER_SIZES; do
    jq -n --argjson size "$size" --slurpfile ap "$JS/ledger-$size-append.json" --slurpfile gr "$JS/ledger-$size-grow.json" \
      --slurpfile cli "$JS/ledger-$size-cli.json" --slurpfile a "$A" '
      ($a[0].ledger | map(select(.size == $size)) | .[0]) as $n |
      {size: $size, grow_s: $gr[0].seconds,
       inprocess: {min_ms: $ap[0].ms.min, median_ms: $ap[0].ms.median, p90_ms: $ap[0].ms.p90, appends: $ap[0].appends,
                   loose_bytes_per_append: $ap[0].loose_bytes.median, raw_bytes_per_append: $ap[0].raw_bytes.median,
                   ledger_loose_bytes_per_append: $ap[0].ledger_loose_bytes.median,
                   ledger_raw_bytes_per_append: $ap[0].ledger_raw_bytes.median,
                   note_loose_bytes_per_append: ($ap[0].loose_bytes.median - $ap[0].ledger_loose_bytes.median),
                   objects_per_append: $ap[0].objects.median},
       cli: $cli[0],
       naive: $n,
       ratio_inprocess_to_naive: (if $n then ($ap[0].ms.median / $n.median_ms * 100 | round / 100) else null end),
       ratio_cli_to_naive: (if $n then ($cli[0].median_ms / $n.median_ms * 100 | round / 100) else null end),
       ratio_bytes_to_naive: (if $n then ($ap[0].loose_bytes.median / $n.loose_bytes_per_append * 100 | round / 100) else null end),
       ratio_ledger_bytes_to_naive: (if $n then ($ap[0].ledger_loose_bytes.median / $n.loose_bytes_per_append * 100 | round / 100) else null end)}'
  done | jq -s .)
distinct_json=$(
  for size in $DISTINCT_SIZES; do
    jq -n --argjson size "$size" --slurpfile ap "$JS/distinct-$size-append.json" --slurpfile gr "$JS/distinct-$size-grow.json" \
      '{size: $size, grow_s: $gr[0].seconds, median_ms: $ap[0].ms.median, p90_ms: $ap[0].ms.p90,
        loose_bytes_per_append: $ap[0].loose_bytes.median, raw_bytes_per_append: $ap[0].raw_bytes.median,
        ledger_loose_bytes_per_append: $ap[0].ledger_loose_bytes.median,
        note_loose_bytes_per_append: ($ap[0].loose_bytes.median - $ap[0].ledger_loose_bytes.median),
        note_raw_bytes_per_append: ($ap[0].raw_bytes.median - $ap[0].ledger_raw_bytes.median)}'
  done | jq -s .)

tmpfs_json=$(for f in "$JS"/tmpfs-*-append.json; do [ ! -f "$f" ] || cat "$f"; done \
  | jq -s 'sort_by(.size) | map({size, min_ms: .ms.min, median_ms: .ms.median, p90_ms: .ms.p90,
           loose_bytes_per_append: .loose_bytes.median, ledger_loose_bytes_per_append: .ledger_loose_bytes.median})')

# Ledger targets: every size <= T_APPEND_MS and <= naive; bytes per decade.
APPEND_MAX_MED=$(jq '[.[].inprocess.median_ms] | max' <<<"$ledger_json")
APPEND_MAX_RATIO=$(jq '[.[].ratio_inprocess_to_naive | select(. != null)] | max // null' <<<"$ledger_json")
# "At most logarithmic": equal steps per decade of ledger size. Met when each
# decade adds at most 1.5x what the previous one added (+ 5% of the first
# figure for noise); linear growth would add 10x.
bytes_growth() {  # $1: jq path of the bytes figure
  jq -r --arg f "$1" '[.[] | .inprocess[$f]] as $b |
    if ($b | length) < 3 then "n/a"
    else ([range(2; $b | length) as $i | (($b[$i] - $b[$i-1]) <= 1.5 * ([($b[$i-1] - $b[$i-2]), 0] | max) + 0.05 * $b[0])] | all) as $ok
         | if $ok then "met" else "NOT met" end end' <<<"$ledger_json"
}
BYTES_LOG=$(bytes_growth loose_bytes_per_append)
LEDGER_BYTES_LOG=$(bytes_growth ledger_loose_bytes_per_append)
BYTES_MAX_RATIO=$(jq '[.[].ratio_bytes_to_naive | select(. != null)] | max // null' <<<"$ledger_json")
SHOW_CLI_MED=$(jq .show.median_ms "$JS/query-cli.json")
RANGE_CLI_MED=$(jq .verify_range_50.median_ms "$JS/query-cli.json")
pages_json=$(for size in $LEDGER_SIZES; do jq --argjson size "$size" '. + {size: $size}' "$JS/page-$size.json"; done | jq -s .)
PAGE_MAX_MED=$(jq '[.[] | .first.median_ms, (.middle.median_ms // empty)] | max' <<<"$pages_json")

targets_json=$(jq -n \
  --arg a1 "$(met "$APPEND_MAX_MED" le "$T_APPEND_MS")" --argjson v1 "$APPEND_MAX_MED" \
  --arg a2 "$(met "$APPEND_MAX_RATIO" le "$T_APPEND_RATIO")" --argjson v2 "${APPEND_MAX_RATIO:-null}" \
  --arg a3 "$BYTES_LOG" --arg a3b "$LEDGER_BYTES_LOG" \
  --arg a3c "$(met "$BYTES_MAX_RATIO" le 1.0)" --argjson v3c "${BYTES_MAX_RATIO:-null}" \
  --arg a4 "$(met "$SHOW_CLI_MED" le "$T_SHOW_MS")" --argjson v4 "$SHOW_CLI_MED" \
  --arg a4b "$(met "$PAGE_MAX_MED" le "$T_PAGE_MS")" --argjson v4b "$PAGE_MAX_MED" --argjson t4b "$T_PAGE_MS" \
  --arg a4c "$(met "$RANGE_CLI_MED" le "$T_RANGE_MS")" --argjson v4c "$RANGE_CLI_MED" --argjson t4c "$T_RANGE_MS" \
  --arg a5 "$(met "$IMPORT_RATIO_MIN" le "$T_IMPORT_RATIO")" --argjson v5 "$IMPORT_RATIO_MIN" \
  --arg a6 "$(met "$RUN_RATIO_MIN" le "$T_RUN_RATIO")" --argjson v6 "$RUN_RATIO_MIN" \
  --arg a7 "$(met "$SCALING_MIN" ge "$T_SCALING")" --argjson v7 "$SCALING_MIN" \
  --arg a8 "$(met "$RSS_MAX" le "$T_RSS_KIB")" --argjson v8 "$RSS_MAX" \
  --arg a9 "$(met "$VIOL_DIFF_MIN" le "$T_VIOL_S")" --argjson v9 "$VIOL_DIFF_MIN" \
  --arg a10 "$(met "$EVID_RSS" le "$T_RSS_KIB")" --argjson v10 "${EVID_RSS:-null}" \
  --arg a11 "$(met "$API_RATIO" ge 0.5)" --argjson v11 "${API_RATIO:-null}" --arg a12 "$(met "$API_P99" le 10)" \
  --argjson v12 "${API_P99:-null}" --arg a13 "$(met "$API_PAGE" le 5)" --argjson v13 "${API_PAGE:-null}" \
  --arg a14 "$(met "$API_RSS" le "$T_RSS_KIB")" --argjson v14 "${API_RSS:-null}" --arg a15 "$API_FLAT" --argjson v15 "${API_GROW:-null}" \
  --arg a16 "$(met "$HOOK_MED" le 100)" --argjson v16 "${HOOK_MED:-null}" \
  --arg a17 "$(met "$TUI_FIRST" le 300)" --argjson v17 "${TUI_FIRST:-null}" \
  --arg a18 "$(met "$TUI_IDLE" le 5)" --argjson v18 "${TUI_IDLE:-null}" \
  --argjson t1 "$T_APPEND_MS" --argjson t2 "$T_APPEND_RATIO" --argjson t4 "$T_SHOW_MS" --argjson t5 "$T_IMPORT_RATIO" \
  --argjson t6 "$T_RUN_RATIO" --argjson t7 "$T_SCALING" --argjson t8 "$T_RSS_KIB" --argjson t9 "$T_VIOL_S" '
  [{target: "ledger append in-process median <= \($t1) ms (worst size)", value: $v1, result: $a1},
   {target: "ledger append / naive plumbing loop <= \($t2) (worst size)", value: $v2, result: $a2},
   {target: "bytes per append grow at most logarithmically (all objects written)", value: null, result: $a3},
   {target: "bytes per append grow at most logarithmically (ledger commit only, without the status note)", value: null, result: $a3b},
   {target: "bytes per append <= naive loop (worst size)", value: $v3c, result: $a3c},
   {target: "candidate show --json (CLI) median <= \($t4) ms", value: $v4, result: $a4},
   {target: "candidate list --limit 100 --json (CLI) median <= \($t4b) ms (worst size, first or middle page)", value: $v4b, result: $a4b},
   {target: "verify --range of 50 commits (CLI) median <= \($t4c) ms (largest size)", value: $v4c, result: $a4c},
   {target: "import / sha256sum -P2 (mins) <= \($t5)", value: $v5, result: $a5},
   {target: "compliance run --jobs 2 / rg -j2 (mins) <= \($t6)", value: $v6, result: $a6},
   {target: "jobs 1 -> 2 scaling (mins) >= \($t7)", value: $v7, result: $a7},
   {target: "peak RSS per process <= \($t8) KiB", value: $v8, result: $a8},
   {target: "100,000 violations: run time - clean run time (mins) <= \($t9) s", value: $v9, result: $a9},
   {target: "verify and violations --json at 1,000,000 recorded violations: peak RSS <= \($t8) KiB", value: $v10, result: $a10},
   {target: "API GET /candidates/{id} req/s / nginx req/s (worse round) >= 0.5", value: $v11, result: $a11},
   {target: "API p99 of GET /candidates/{id} and /compliance-runs/{id} <= 10 ms", value: $v12, result: $a12},
   {target: "API GET /candidates?limit=100 median <= 5 ms", value: $v13, result: $a13},
   {target: "API server RSS after two load rounds <= \($t8) KiB", value: $v14, result: $a14},
   {target: "API server RSS after round 2 <= after round 1, and after a second round of the GET loads alone <= after the first, within 1% (KiB grown, the larger)", value: $v15, result: $a15},
   {target: "pre-receive of a release tag + 50 ledger commits at the largest size, median <= 100 ms", value: $v16, result: $a16},
   {target: "TUI first screen <= 300 ms (worst size)", value: $v17, result: $a17},
   {target: "TUI idle refresh CPU < 5 ms (worst size)", value: $v18, result: $a18}]')

jq -n \
  --arg date "$START" --arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg cpu "$CPU_MODEL" --argjson ncpu "$(nproc)" \
  --argjson mem "$MEM_GIB" --arg kernel "$(uname -r)" --arg version "$("$BIN" --version 2>/dev/null || echo '?')" \
  --arg commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')" \
  --argjson quick "$([ "$QUICK" = 1 ] && echo true || echo false)" --argjson runs "$RUNS" \
  --argjson reused "$ANCHORS_REUSED" --slurpfile anchors "$A" \
  --argjson files "$NFILES" --argjson bytes "$BYTES" --argjson spawn "$(us2ms "$SPAWN_BIN")" \
  --argjson ledger "$ledger_json" --argjson distinct "$distinct_json" \
  --slurpfile qin "$JS/query-inprocess.json" --slurpfile qcli "$JS/query-cli.json" \
  --slurpfile startup "$JS/startup.json" --argjson pages "$pages_json" \
  --argjson tmpfs "$tmpfs_json" \
  --argjson imn "$(us2s "$imn")" --argjson imd "$(us2s "$imd")" --argjson irmin "$IMPORT_RATIO_MIN" --argjson irmed "$IMPORT_RATIO_MED" \
  --argjson r1mn "$(us2s "$r1mn")" --argjson r1md "$(us2s "$r1md")" --argjson r2mn "$(us2s "$r2mn")" --argjson r2md "$(us2s "$r2md")" \
  --argjson rrmin "$RUN_RATIO_MIN" --argjson rrmed "$RUN_RATIO_MED" --argjson rr1min "$RUN1_RATIO_MIN" --argjson rr1med "$RUN1_RATIO_MED" \
  --argjson scmin "$SCALING_MIN" --argjson scmed "$SCALING_MED" \
  --argjson mb1 "$(mbps "$BYTES" "$r1mn")" --argjson mb2 "$(mbps "$BYTES" "$r2mn")" \
  --argjson mb1m "$(mbps "$BYTES" "$r1md")" --argjson mb2m "$(mbps "$BYTES" "$r2md")" \
  --argjson rss "$RSS_MAX" --argjson runner "$RUNNER_MAX" --argjson worker "$WORKER_MAX" --argjson timev "$TIMEV_MAX" --argjson cpusplit "$CPU_SPLIT" \
  --arg statuses "$STATUSES" \
  --slurpfile vc "$JS/violation_counts.json" --slurpfile svc "$JS/synth-violation_counts.json" \
  --slurpfile sampler "$( [ -f "$JS/rss-sampler.json" ] && echo "$JS/rss-sampler.json" || echo /dev/null)" \
  --argjson hmn "$(us2s "$hmn")" --argjson hmd "$(us2s "$hmd")" --argjson cmn "$(us2s "$cmn")" --argjson cmd "$(us2s "$cmd")" \
  --argjson vdmin "$VIOL_DIFF_MIN" --argjson vdmed "$VIOL_DIFF_MED" --argjson synbytes "$SYN_BYTES" \
  --argjson hitsrg "$HITS_RG" --argjson cleanrg "$CLEAN_RG" \
  --slurpfile evidence "$JS/evidence.json" --slurpfile api "$JS/api.json" --slurpfile distributed "$JS/distributed.json" --slurpfile trust "$JS/trust.json" --slurpfile detach "$JS/detach.json" --argjson tui "$tui_json" \
  --argjson busy "$busy_json" --argjson bugs "$bugs_json" --argjson targets "$targets_json" \
  --argjson all_runs "$(jq -s . "$JS"/run-*.json)" '
  {date: $date, finished: $finished, quick: $quick, runs: $runs,
   machine: {cpus: $ncpu, cpu_model: $cpu, mem_gib: $mem, kernel: $kernel},
   clean_release: {version: $version, commit: $commit, process_start_ms: $spawn, startup: $startup[0]},
   anchors_reused: $reused, anchors: $anchors[0],
   corpus: {name: "medium", files: $files, bytes: $bytes},
   machine_busy_pct_before: $busy,
   ledger: $ledger, ledger_one_commit_per_candidate: $distinct,
   ledger_tmpfs: $tmpfs,
   query: {inprocess: $qin[0], cli: $qcli[0], page_cli: $pages},
   import: {min_s: $imn, median_s: $imd, ratio_to_sha256sum_p2_min: $irmin, ratio_to_sha256sum_p2_median: $irmed},
   compliance: {jobs1: {min_s: $r1mn, median_s: $r1md, mb_s_min: $mb1, mb_s_median: $mb1m, ratio_to_rg_j1_min: $rr1min, ratio_to_rg_j1_median: $rr1med},
                jobs2: {min_s: $r2mn, median_s: $r2md, mb_s_min: $mb2, mb_s_median: $mb2m, ratio_to_rg_j2_min: $rrmin, ratio_to_rg_j2_median: $rrmed},
                scaling_min: $scmin, scaling_median: $scmed, final_statuses: $statuses,
                peak_rss_kib: {max_any_process: $rss, runner: $runner, worker: $worker, time_v_max: $timev},
                cpu_jobs2_median: $cpusplit,
                rss_sampler_crosscheck: ($sampler[0] // null),
                violation_counts: $vc[0]},
   violations_100k: {bytes_per_corpus: $synbytes, rg_matching_lines_hits: $hitsrg, rg_matching_lines_clean: $cleanrg,
                     hits: {min_s: $hmn, median_s: $hmd}, clean: {min_s: $cmn, median_s: $cmd},
                     extra_s_min: $vdmin, extra_s_median: $vdmed, violation_counts: $svc[0]},
   recorded_violations: $evidence[0], api: $api[0], distributed: $distributed[0], trust: $trust[0], detach: $detach[0], tui: $tui,
   targets: $targets, bugs: $bugs, runs_detail: $all_runs}' >"$C/bench.json"

# ---------------------------------------------------------------- table
echo
echo "clean-release benchmark  $START  $(nproc) CPUs ($CPU_MODEL), $MEM_GIB GiB, kernel $(uname -r)"
echo "binary: $("$BIN" --version 2>/dev/null) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
echo "corpus: medium, $NFILES files, $BYTES bytes; $RUNS runs per figure; anchors $( [ "$ANCHORS_REUSED" = true ] && echo "REUSED from an earlier run" || echo "measured in this run")"
echo "one CLI process before any work: exec + dynamic linking ($(basename "$BIN") --version) $(us2ms "$SPAWN_BIN") ms;" \
  "then git_libgit2_init() $(jq .libgit2_init_ms "$JS/startup.json") ms, facade open $(jq .facade_open_ms "$JS/startup.json") ms (medians)"
echo
printf '%-44s %10s %10s %14s %9s\n' "ledger append (register)" "median ms" "p90 ms" "naive med ms" "ratio"
jq -r '.[] | "\(.size)\t\(.inprocess.median_ms)\t\(.inprocess.p90_ms)\t\(.naive.median_ms // "-")\t\(.ratio_inprocess_to_naive // "-")\t\(.cli.median_ms)\t\(.cli.p90_ms)\t\(.ratio_cli_to_naive // "-")"' <<<"$ledger_json" |
  while IFS=$'\t' read -r s md p90 nmd r cmd cp90 cr_; do
    printf '%-44s %10s %10s %14s %9s\n' "  $s candidates, in-process (facade)" "$md" "$p90" "$nmd" "$r"
    printf '%-44s %10s %10s %14s %9s\n' "  $s candidates, CLI (one process)" "$cmd" "$cp90" "$nmd" "$cr_"
  done
jq -r '.[] | "\(.size)\t\(.median_ms)\t\(.p90_ms)"' <<<"$tmpfs_json" |
  while IFS=$'\t' read -r s md p90; do
    printf '%-44s %10s %10s %14s %9s\n' "  $s candidates, in-process, on tmpfs" "$md" "$p90" "" ""
  done
echo
printf '%-44s %10s %10s %10s %10s %9s\n' "bytes per append (median)" "loose B" "raw B" "ledger B" "note B" "naive B"
jq -r '.[] | "\(.size)\t\(.inprocess.loose_bytes_per_append)\t\(.inprocess.raw_bytes_per_append)\t\(.inprocess.ledger_loose_bytes_per_append)\t\(.inprocess.note_loose_bytes_per_append)\t\(.naive.loose_bytes_per_append // "-")"' <<<"$ledger_json" |
  while IFS=$'\t' read -r s lb rb llb nlb nb; do
    printf '%-44s %10s %10s %10s %10s %9s\n' "  $s candidates, one source commit" "$lb" "$rb" "$llb" "$nlb" "$nb"
  done
jq -r '.[] | "\(.size)\t\(.loose_bytes_per_append)\t\(.raw_bytes_per_append)\t\(.ledger_loose_bytes_per_append)\t\(.note_loose_bytes_per_append)\t\(.median_ms)"' <<<"$distinct_json" |
  while IFS=$'\t' read -r s lb rb llb nlb md; do
    printf '%-44s %10s %10s %10s %10s %9s\n' "  $s candidates, a commit each ($md ms)" "$lb" "$rb" "$llb" "$nlb" "-"
  done
echo
printf '%-44s %10s %10s %10s\n' "query at $LAST_SIZE candidates" "min ms" "median ms" "p90 ms"
jq -r '"  candidate show --json (CLI)\t\(.show.min_ms)\t\(.show.median_ms)\t\(.show.p90_ms)",
       "  candidate list --json (CLI, \(.listed) listed)\t\(.list.min_ms)\t\(.list.median_ms)\t\(.list.p90_ms)",
       "  verify --range, last 50 commits (CLI)\t\(.verify_range_50.min_ms)\t\(.verify_range_50.median_ms)\t\(.verify_range_50.p90_ms)"' "$JS/query-cli.json" |
  while IFS=$'\t' read -r n a b c; do printf '%-44s %10s %10s %10s\n' "$n" "$a" "$b" "$c"; done
jq -r '.[] | "  list --limit 100 --json, \(.size): first page\t\(.first.min_ms)\t\(.first.median_ms)\t\(.first.p90_ms)",
       "  list --limit 100 --json, \(.size): page at \(.middle_at)\t\(.middle.min_ms // "-")\t\(.middle.median_ms // "-")\t\(.middle.p90_ms // "-")"' <<<"$pages_json" |
  while IFS=$'\t' read -r n a b c; do printf '%-44s %10s %10s %10s\n' "$n" "$a" "$b" "$c"; done
jq -r '"  show, in-process (facade + JSON)\t\(.show.min_ms)\t\(.show.median_ms)\t\(.show.p90_ms)",
       "  list, in-process (facade + JSON)\t\(.list.min_ms)\t\(.list.median_ms)\t\(.list.p90_ms)",
       "  open + show + close, in-process\t\(.open_show_close.min_ms)\t\(.open_show_close.median_ms)\t\(.open_show_close.p90_ms)"' "$JS/query-inprocess.json" |
  while IFS=$'\t' read -r n a b c; do printf '%-44s %10s %10s %10s\n' "$n" "$a" "$b" "$c"; done
echo
printf '%-44s %9s %9s %9s %9s %9s %9s\n' "medium corpus" "min s" "median s" "MB/s min" "anchor" "anc. min" "ratio min"
printf '%-44s %9s %9s %9s %9s %9s %9s\n' "  candidate import-artifacts" "$(us2s "$imn")" "$(us2s "$imd")" "$(mbps "$BYTES" "$imn")" "sha -P2" "$SHA2_MIN" "$IMPORT_RATIO_MIN"
printf '%-44s %9s %9s %9s %9s %9s %9s\n' "  compliance run --jobs 1" "$(us2s "$r1mn")" "$(us2s "$r1md")" "$(mbps "$BYTES" "$r1mn")" "rg -j1" "$RG1_MIN" "$RUN1_RATIO_MIN"
printf '%-44s %9s %9s %9s %9s %9s %9s\n' "  compliance run --jobs 2" "$(us2s "$r2mn")" "$(us2s "$r2md")" "$(mbps "$BYTES" "$r2mn")" "rg -j2" "$RG2_MIN" "$RUN_RATIO_MIN"
echo "  jobs 1 -> 2 scaling: ${SCALING_MIN}x (mins), ${SCALING_MED}x (medians); rg: $(aj .scan.scaling_min)x; sha256sum: $(aj .hash.scaling_min)x"
echo "  run medians / anchor medians: jobs 1 $RUN1_RATIO_MED, jobs 2 $RUN_RATIO_MED; import $IMPORT_RATIO_MED"
echo "  final statuses: $STATUSES"
echo "  peak RSS: runner $RUNNER_MAX KiB, largest worker $WORKER_MAX KiB (wait4 rusage via LD_PRELOAD shim); /usr/bin/time -v max $TIMEV_MAX KiB"
echo "  CPU of a --jobs 2 run (medians): runner $(jq -r .runner_ms <<<"$CPU_SPLIT") ms, workers $(jq -r .workers_ms <<<"$CPU_SPLIT") ms; the runner's share $(jq -r .runner_share_pct <<<"$CPU_SPLIT")%"
echo "  violations recorded (run $FIRST_RUN): $(jq -c '{total, warning, blocker, by_stage}' "$JS/violation_counts.json" 2>/dev/null)"
echo "  rg on the same corpus: $(aj .scan.matching_lines) matching lines in $(aj .scan.files_with_matches) files"
echo
echo "100,000 violations (100 files x 1,000 lines, $SYN_BYTES bytes; rg: $HITS_RG vs $CLEAN_RG matching lines), --jobs 2:"
echo "  with violations: min $(us2s "$hmn") s, median $(us2s "$hmd") s; clean: min $(us2s "$cmn") s, median $(us2s "$cmd") s"
echo "  extra time: $VIOL_DIFF_MIN s (mins), $VIOL_DIFF_MED s (medians); recorded: $(jq -c '{total, by_stage}' "$JS/synth-violation_counts.json" 2>/dev/null)"
echo "verify and compliance violations --json (--jobs 2 runs; min / median ms, peak RSS KiB):"
jq -r '.sizes[] | "  \(.recorded) recorded (total \(.total)), run \(.run_s) s, \(.violations_json_bytes) bytes of JSON:
    verify (whole ledger) \(.verify.min_ms) / \(.verify.median_ms) ms, \(.verify.max_rss_kib) KiB;
    violations --json \(.violations_json.min_ms) / \(.violations_json.median_ms) ms, \(.violations_json.max_rss_kib) KiB"' "$JS/evidence.json"
echo
if [ -s "$W/perf-top.txt" ]; then echo "profile (perf record --call-graph dwarf, compliance run --jobs 2):"; sed 's/^/  /' "$W/perf-top.txt"; echo; fi
echo "the server's gate and sync (contrib/bench/distributed.sh; min / median / p90 ms):"
jq -r 'if .pre_receive_50 then
  "  pre-receive, release tag + 50 ledger commits at \($size) candidates: \(.pre_receive_50.min_ms) / \(.pre_receive_50.median_ms) / \(.pre_receive_50.p90_ms) (first after the push \(.pre_receive_50.first_ms)), \(.pre_receive_50.max_rss_kib) KiB",
  "  pre-receive, release tag + 1,000 ledger commits: \(.pre_receive_1000.min_ms) / \(.pre_receive_1000.median_ms) / \(.pre_receive_1000.p90_ms)",
  "  sync, 100 local operations onto 1,000 remote: \(.sync_100_onto_1000.min_ms) / \(.sync_100_onto_1000.median_ms) / \(.sync_100_onto_1000.p90_ms)"
  else "  (not measured)" end' --arg size "$LAST_SIZE" "$JS/distributed.json"
echo "signed evidence (contrib/bench/trust.sh):"
jq -r 'if .approve_signed then
  "  approval at \(.candidates) candidates, median / p90 ms: signed \(.approve_signed.median_ms) / \(.approve_signed.p90_ms), unsigned \(.approve_unsigned.median_ms) / \(.approve_unsigned.p90_ms)",
  "  verify of \(.ledger_commits) ledger commits, median ms: \(.candidates) signed approvals \(.verify_signed.median_ms), unsigned \(.verify_unsigned.median_ms)"
  else "  (not measured)" end' "$JS/trust.json"
echo "a detached run against the same run in the foreground (contrib/bench/detach.sh; min / median ms):"
jq -r 'if .added_ms then
  "  foreground \(.foreground.min_ms) / \(.foreground.median_ms), detached \(.detached.min_ms) / \(.detached.median_ms): the runner as its own process adds \(.added_ms.min) / \(.added_ms.median) (\(.runs) runs, one small artifact each)"
  else "  (not measured)" end' "$JS/detach.json"
echo "the TUI (contrib/bench/tui.sh):"
jq -r '.[] | "  \(.size) candidates: first screen \(.first_screen_ms) ms, idle refresh \(.idle_refresh_cpu_ms) ms CPU\(if .follow then "; a check of \(.follow.files) files \(.follow.run_without_tui_ms) ms alone, \(.follow.run_with_tui_ms) ms followed (TUI \(.follow.tui_cpu_ms_over_3_runs_and_2_s) ms CPU)" else "" end)"' <<<"$tui_json"
echo
echo "targets:"
jq -r '.[] | "  \(.result | if . == "met" then "met    " else . end)  \(.target)\(if .value != null then " — \(.value)" else "" end)"' <<<"$targets_json"
busy_line=$(jq -r 'to_entries | map(select(.value > 15) | "\(.key) \(.value)%") | join(", ")' <<<"$busy_json")
[ -z "$busy_line" ] || echo "  (machine was busy with other work before: $busy_line — those figures are disturbed)"
if [ "${#BUGS[@]}" -gt 0 ]; then
  echo
  echo "failures during the run (possible bugs):"
  printf '  %s\n' "${BUGS[@]}"
fi
echo
echo "figures: $C/bench.json; anchors: $A"
if [ "$REPORT_ONLY" != 1 ] && [ "${CR_BENCH_KEEP:-0}" != 1 ]; then
  rm -rf "$W/repo" "$W/synth" "$W"/ledger-* "$W/perf.data"
fi
exit 0
