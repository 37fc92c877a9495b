#!/bin/sh
# t23-failures: nothing hangs and nothing is lost. A worker that crashes, is
# killed from outside, hits a regex limit or the per-artifact time limit makes
# the run end ERROR naming the artifact, while every other artifact is still
# checked; a runner killed with SIGKILL leaves a FAILED run, never a candidate
# stuck in CHECK_RUNNING; concurrent runs of two candidates both finish.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: the acme policy and a corpus of 8 artifacts of distinct sizes, two with a planted external URL' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p ../small/dist
	# Sizes decide the dispatch order (largest first): the planted
	# violations are checked before and after the artifact that crashes.
	printf "first %s\nsee https://first.evil.example/x\n" "$(printf "%0100d" 0)" >../small/dist/a-first.txt
	for i in 2 3 4 5 6; do printf "clean artifact %s\n" "$(printf "%0$((80 - i * 10))d" 0)" >../small/dist/clean-$i.txt; done
	printf "crash here %030d\n" 0 >../small/dist/crash-me.txt
	printf "https://last.evil.example\n" >../small/dist/z-last.txt
	(cd ../small && ls dist/*) | sed "s|\$| build:acme-ci/orders/9/pkg|" | artifacts_doc >../small/artifacts.json
	test "$(jq ".artifacts | length" ../small/artifacts.json)" = 8
	validate_schema artifacts.schema.json ../small/artifacts.json
'

# planted RUN — the run found each planted URL exactly once, and nothing else.
planted='planted() {
	clean-release compliance violations --run-id "$1" --json |
		jq -r ".violations[] | \"\(.rule_id) \(.artifact_path) \(.location.line)\"" | sort >planted.got
	printf "%s\n" "external-url dist/a-first.txt 2" "external-url dist/z-last.txt 1" >planted.expect
	test_cmp planted.expect planted.got
}'

test_expect_success 'a worker that crashes (SIGSEGV) on one artifact: exit 6, ERROR naming it, the run finished, the others checked (--jobs 1)' '
	'"$planted"'
	cd repo
	m=$(make_candidate crash ../small/artifacts.json)
	echo $m >../crash.manifest
	start=$(now_ms)
	test_exit 6 env CR_TEST_WORKER_CRASH=dist/crash-me.txt clean-release compliance run --candidate-id crash \
		--manifest-id $m --actor release-bot --jobs 1 --json
	test $(( $(now_ms) - start )) -lt 20000
	cp "$TRASH/.cr-out" ../crash-run.json
	validate_openapi ComplianceRun ../crash-run.json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"ERROR\" and .report_id != null
	       and .progress.artifacts_done == 8 and .progress.artifacts_total == 8
	       and (.reason | contains(\"dist/crash-me.txt\"))" ../crash-run.json >/dev/null
	run=$(json_get ../crash-run.json run_id)
	test_exit 6 clean-release compliance report --run-id $run --json
	cp "$TRASH/.cr-out" ../crash-report.json
	validate_openapi Report ../crash-report.json
	# The content stages could not be evaluated for that artifact.
	jq -e "[.stages[] | select(.stage != \"INTERNAL_SOURCES_ONLY\") | .status == \"ERROR\" and (.error | contains(\"dist/crash-me.txt\"))]
	       == [true, true, true]" ../crash-report.json >/dev/null
	test "$(clean-release task status --task-id $(json_get ../crash-run.json task_id) --json | jq -r .status)" = SUCCEEDED
	test "$(candidate_status crash)" = CHECK_ERROR
	planted $run
'

test_expect_success 'the same with --jobs 2: exit 6, ERROR naming the artifact, each planted violation found exactly once' '
	'"$planted"'
	cd repo
	test_exit 6 env CR_TEST_WORKER_CRASH=dist/crash-me.txt clean-release compliance run --candidate-id crash \
		--manifest-id $(cat ../crash.manifest) --actor release-bot --jobs 2 --json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"ERROR\" and (.reason | contains(\"dist/crash-me.txt\"))
	       and .progress.artifacts_done == 8" "$TRASH/.cr-out" >/dev/null
	planted $(jq -r .run_id "$TRASH/.cr-out")
'

test_expect_success 'setup: a 2 GiB sparse artifact next to the small corpus' '
	cd repo
	mkdir -p ../big/dist
	cp ../small/dist/* ../big/dist/
	truncate -s 2G ../big/dist/huge.img
	(cd ../big && ls dist/*) | sed "s|\$| build:acme-ci/orders/9/pkg|" | artifacts_doc >../big/artifacts.json
	make_candidate big ../big/artifacts.json >../big.manifest
'

test_expect_success 'a worker killed with SIGKILL from outside mid-run (--jobs 2): ERROR naming its artifact, the run finished, the others checked' '
	'"$planted"'
	cd repo
	clean-release --json compliance run --candidate-id big --manifest-id $(cat ../big.manifest) --actor release-bot \
		--jobs 2 --detach >../kill-run.json
	run=$(json_get ../kill-run.json run_id)
	runner=$(wait_runner $(json_get ../kill-run.json task_id))
	w=$(kill_worker_on $runner "$TRASH/big/dist/huge.img")
	procs_gone $w
	wait_run_finished $run 60
	clean-release compliance status --run-id $run --json >../kill-status.json
	validate_openapi ComplianceRun ../kill-status.json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"ERROR\" and .report_id != null
	       and (.reason | contains(\"dist/huge.img\"))" ../kill-status.json >/dev/null
	test_exit 6 clean-release compliance report --run-id $run --json
	jq -e "[.stages[] | select(.status == \"ERROR\") | .error | contains(\"dist/huge.img\")] | length > 0 and all" \
		"$TRASH/.cr-out" >/dev/null
	test "$(candidate_status big)" = CHECK_ERROR
	planted $run
'

# check_vanished RUN TASK — the run of a killed runner is reported FAILED/ERROR
# with a reason by every reader, its task FAILED and the candidate CHECK_ERROR,
# before anything records it (no report yet: exit 4); `task reap` records the
# finish, and then its report exists and every reader says the same.
# Before the finish is recorded, report_id is null: no report exists yet
# (docs/design.md, "Orphaned runs"; the one FAILED run without a report).
check_vanished='check_vanished() {
	clean-release compliance status --run-id $1 --json >status-$1.json
	jq -e ".status == \"FAILED\" and .final_status == \"ERROR\" and .report_id == null
	       and (.finished_at | type == \"string\")
	       and (.reason | type == \"string\" and length > 0)" status-$1.json >/dev/null
	jq "del(.report_id)" status-$1.json >status-$1.recorded.json
	clean-release task status --task-id $2 --json >task-$1.json
	validate_openapi Task task-$1.json
	jq -e ".status == \"FAILED\" and .pid == null and (.error | type == \"string\" and length > 0)" task-$1.json >/dev/null
	test "$(candidate_status big)" = CHECK_ERROR
	test_exit 4 clean-release compliance report --run-id $1 --json
	clean-release task reap --actor reaper >reap-$1.out
	echo "$1 FAILED (ERROR): finish recorded by reaper" >reap-$1.expect
	test_cmp reap-$1.expect reap-$1.out
	clean-release compliance status --run-id $1 --json >status-$1.json
	validate_openapi ComplianceRun status-$1.json
	jq -e ".status == \"FAILED\" and .final_status == \"ERROR\" and .report_id != null
	       and (.reason | type == \"string\" and length > 0)" status-$1.json >/dev/null
	jq "del(.report_id)" status-$1.json >status-$1.after.json
	test_cmp status-$1.recorded.json status-$1.after.json
	clean-release task status --task-id $2 --json >task-$1.json
	validate_openapi Task task-$1.json
	jq -e ".status == \"FAILED\" and .pid == null and (.error | type == \"string\" and length > 0)" task-$1.json >/dev/null
	test "$(candidate_status big)" = CHECK_ERROR
	test_exit 6 clean-release compliance report --run-id $1 --json
	jq -e ".final_status == \"ERROR\" and .run_id == \"$1\"" "$TRASH/.cr-out" >/dev/null
}'

test_expect_success 'kill -9 of a detached runner (a fresh exec of the program, stdio and its lock only) while it scans the large artifact: FAILED/ERROR with a reason, CHECK_ERROR, task FAILED, workers gone' '
	'"$check_vanished"'
	cd repo
	# fd 7, open and inheritable in the command that queues the run, must
	# not reach its runner.
	clean-release --json compliance run --candidate-id big --manifest-id $(cat ../big.manifest) --actor release-bot \
		--jobs 2 --detach >../vanish-run.json 7<../big.manifest
	run=$(json_get ../vanish-run.json run_id)
	task=$(json_get ../vanish-run.json task_id)
	runner=$(wait_runner $task)
	# The runner is a fresh exec of the installed program, not a fork of
	# the command that queued the run: its executable, its command line;
	# stdio on /dev/null, the task lock it was handed on 3, and beyond that
	# only what it opened itself (the artifact root, the pipes to its workers).
	test "$(readlink /proc/$runner/exe)" = "$(readlink -f "$(command -v git-clean-release)")"
	tr "\0" " " </proc/$runner/cmdline >../runner.cmdline
	grep -q " task run --task-id $task --jobs 2 --lock-fd 3 \$" ../runner.cmdline
	for fd in 0 1 2; do test "$(readlink /proc/$runner/fd/$fd)" = /dev/null; done
	test "$(readlink /proc/$runner/fd/3)" = "$(cd .git && pwd -P)/clean-release/tasks/$task.lock"
	for fd in $(ls /proc/$runner/fd); do
		test $fd -le 3 && continue
		t=$(readlink /proc/$runner/fd/$fd)
		case $t in pipe:*|"$(cd ../big && pwd -P)") ;; *) echo "runner fd $fd -> $t" >&2; false ;; esac
	done
	w=$(worker_on $runner "$TRASH/big/dist/huge.img")
	workers=$(pgrep -P $runner | tr "\n" " ")
	kill -CONT $w
	kill -KILL $runner
	procs_gone $runner $workers
	check_vanished $run $task
	test "$(clean-release compliance stages --run-id $run --json | jq -r "[.stages[].status] | unique | .[]" | grep -cv "^PASSED$\|^FAILED$")" -gt 0
'

test_expect_success 'kill -9 of a foreground compliance run while it scans the large artifact: the same' '
	'"$check_vanished"'
	cd repo
	before=$(clean-release candidate show --candidate-id big --json | jq -r .latest_run_id)
	clean-release compliance run --candidate-id big --manifest-id $(cat ../big.manifest) --actor release-bot \
		--jobs 2 >../fg.out 2>&1 &
	fg=$!
	end=$(( $(date +%s) + 20 ))
	while run=$(clean-release candidate show --candidate-id big --json | jq -r .latest_run_id) && [ "$run" = "$before" ]; do
		test "$(date +%s)" -lt $end
		sleep 0.05
	done
	task=$(run_field $run task_id)
	runner=$(wait_runner $task)
	w=$(worker_on $runner "$TRASH/big/dist/huge.img")
	workers=$(pgrep -P $runner | tr "\n" " ")
	kill -CONT $w
	kill -KILL $fg
	set +e
	wait $fg
	rc=$?
	set -e
	test $rc = 137
	procs_gone $runner $workers
	check_vanished $run $task
'

test_expect_success 'after that a new manifest and run work again: the run finishes BLOCKED on the planted violations' '
	'"$planted"'
	cd repo
	m=$(clean-release --json manifest build --candidate-id big --actor release-bot | jq -r .manifest_id)
	test "$m" != "$(cat ../big.manifest)"
	test_exit 1 clean-release compliance run --candidate-id big --manifest-id $m --actor release-bot --jobs 2 --json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"BLOCKED\" and .progress.artifacts_done == 9" "$TRASH/.cr-out" >/dev/null
	test "$(candidate_status big)" = CHECK_BLOCKED
	planted $(jq -r .run_id "$TRASH/.cr-out")
	clean-release verify
'

test_expect_success 'setup: a policy with a regex bomb, "(a+)+$", and match_limit 10000; a file of 40 a and a b' '
	new_repo bomb
	cd bomb
	publish_acme_policy ".limits.match_limit = 10000 | .rules += [{id: \"catastrophic\", stage: \"DATA_PURITY\",
		severity: \"BLOCKER\", description: \"a regex bomb\", content_pattern: \"(a+)+\$\", secret: false}]"
	mkdir -p ../bomb-art/dist
	printf "%040d" 0 | tr 0 a >../bomb-art/dist/bomb.txt
	printf "b" >>../bomb-art/dist/bomb.txt
	test "$(cat ../bomb-art/dist/bomb.txt)" = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab
	printf "fine\n" >../bomb-art/dist/ok.txt
	artifacts_doc >../bomb-art/artifacts.json <<-\EOF
	dist/bomb.txt build:acme-ci/orders/9/pkg
	dist/ok.txt build:acme-ci/orders/9/pkg
	EOF
'

test_expect_success 'the regex bomb over 40 a and a b, on a line the prefilter proves cannot match: PASSED at once, the pattern is never run' '
	# Vectorscan (prefilter mode, a superset of the pattern) finds no
	# possible match on this line, so PCRE2 is not run and no limit can be
	# hit: the verdict "no match" is exact (docs/design.md, engine).
	cd bomb
	m=$(make_candidate bomb ../bomb-art/artifacts.json)
	start=$(now_ms)
	test_exit 0 clean-release compliance run --candidate-id bomb --manifest-id $m --actor release-bot --json
	test $(( $(now_ms) - start )) -lt 10000
	jq -e ".final_status == \"PASSED\" and .status == \"SUCCEEDED\"" "$TRASH/.cr-out" >/dev/null
	clean-release compliance report --run-id $(jq -r .run_id "$TRASH/.cr-out") --json >../bomb-report.json || :
	jq -e ".stages[0].status == \"PASSED\" and .violation_counts.total == 0" ../bomb-report.json >/dev/null
'

test_expect_success 'the regex bomb before a real match on the same line: ERROR naming the rule and the artifact, quickly' '
	cd bomb
	mkdir -p ../bomb2-art/dist
	{ printf "%040d" 0 | tr 0 a; printf "b and a\n"; } >../bomb2-art/dist/bomb.txt
	cp ../bomb-art/dist/ok.txt ../bomb-art/artifacts.json ../bomb2-art/
	mv ../bomb2-art/ok.txt ../bomb2-art/dist/
	m=$(make_candidate bomb2 ../bomb2-art/artifacts.json)
	start=$(now_ms)
	test_exit 6 clean-release compliance run --candidate-id bomb2 --manifest-id $m --actor release-bot --json
	test $(( $(now_ms) - start )) -lt 10000
	clean-release compliance report --run-id $(jq -r .run_id "$TRASH/.cr-out") --json >../bomb2-report.json || :
	validate_openapi Report ../bomb2-report.json
	jq -e ".final_status == \"ERROR\" and .stages[0].status == \"ERROR\"
	       and (.stages[0].error | contains(\"catastrophic\") and contains(\"dist/bomb.txt\"))" ../bomb2-report.json >/dev/null
'

test_expect_success 'an artifact over the per-artifact time limit (a hanging worker, 500 ms): ERROR naming it, finished in seconds, the others checked' '
	'"$planted"'
	new_repo slow
	cd slow
	publish_acme_policy ".limits.per_artifact_timeout_ms = 500"
	m=$(make_candidate t23-slow ../small/artifacts.json)
	start=$(now_ms)
	test_exit 6 env CR_TEST_WORKER_HANG=dist/clean-3.txt clean-release compliance run --candidate-id t23-slow \
		--manifest-id $m --actor release-bot --jobs 2 --json
	elapsed=$(( $(now_ms) - start ))
	test $elapsed -lt 10000
	cp "$TRASH/.cr-out" ../slow-run.json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"ERROR\" and (.reason | contains(\"dist/clean-3.txt\"))
	       and .progress.artifacts_done == 8" ../slow-run.json >/dev/null
	run=$(json_get ../slow-run.json run_id)
	clean-release compliance report --run-id $run --json >../slow-report.json || :
	jq -e "[.stages[] | select(.status == \"ERROR\") | .error | contains(\"dist/clean-3.txt\")] | length > 0 and all" \
		../slow-report.json >/dev/null
	planted $run
	test -z "$(pgrep -f "^clean-release compliance run --candidate-id t23-slow" || :)"
'

test_expect_success 'two runs of different candidates at once (both --detach): distinct run ids, both finish with their own result' '
	cd repo
	mkdir -p ../clean/dist
	printf "clean\n" >../clean/dist/app.txt
	echo "dist/app.txt build:acme-ci/orders/9/pkg" | artifacts_doc >../clean/artifacts.json
	ma=$(make_candidate twin-a ../small/artifacts.json)
	mb=$(make_candidate twin-b ../clean/artifacts.json)
	clean-release --json compliance run --candidate-id twin-a --manifest-id $ma --actor release-bot --detach >../twin-a.json &
	pa=$!
	clean-release --json compliance run --candidate-id twin-b --manifest-id $mb --actor release-bot --detach >../twin-b.json &
	pb=$!
	wait $pa
	wait $pb
	validate_openapi ComplianceRun ../twin-a.json
	ra=$(json_get ../twin-a.json run_id)
	rb=$(json_get ../twin-b.json run_id)
	test "$ra" != "$rb"
	test "$(json_get ../twin-a.json task_id)" != "$(json_get ../twin-b.json task_id)"
	wait_run_finished $ra 30
	wait_run_finished $rb 30
	test "$(run_field $ra status) $(run_field $ra final_status) $(run_field $ra candidate_id)" = "SUCCEEDED BLOCKED twin-a"
	test "$(run_field $rb status) $(run_field $rb final_status) $(run_field $rb candidate_id)" = "SUCCEEDED PASSED twin-b"
	test "$(clean-release compliance violations --run-id $ra --json | jq ".violations | length")" = 2
	test "$(clean-release compliance violations --run-id $rb --json | jq ".violations | length")" = 0
	test "$(candidate_status twin-a) $(candidate_status twin-b)" = "CHECK_BLOCKED CHECK_PASSED"
	clean-release verify
'

test_expect_success 'a runner that cannot write its task file (a full disk): final ERROR with the real cause, exit 6, not "the runner vanished"' '
	cd repo
	m=$(make_candidate t23-full ../small/artifacts.json)
	test_exit 6 env CR_TEST_TASK_ENOSPC=1 clean-release compliance run --candidate-id t23-full --manifest-id $m \
		--actor release-bot
	grep "No space left on device" "$TRASH/.cr-out"
	run=$(clean-release candidate show --candidate-id t23-full --json | jq -r .latest_run_id)
	clean-release compliance status --run-id $run --json >../full.json
	jq -e ".status == \"FAILED\" and .final_status == \"ERROR\" and (.reason | contains(\"No space left on device\"))
	       and (.reason | contains(\"vanished\") | not)" ../full.json >/dev/null
	test "$(candidate_status t23-full)" = CHECK_ERROR
	m=$(clean-release --json manifest build --candidate-id t23-full --actor release-bot | jq -r .manifest_id)
	CR_TEST_TASK_ENOSPC=1 clean-release --json compliance run --candidate-id t23-full --manifest-id $m \
		--actor release-bot --detach >../full-detached.json
	run=$(jq -r .run_id ../full-detached.json)
	wait_run_finished $run 30
	clean-release compliance status --run-id $run --json >../full2.json
	jq -e ".final_status == \"ERROR\" and (.reason | contains(\"No space left on device\"))" ../full2.json >/dev/null
'
