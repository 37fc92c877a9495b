#!/bin/sh
# t17-reads: reads never write. With a run orphaned by kill -9 of its runner
# and its workers, in the real and the demo namespace, every read command
# leaves every ref and every object as it was and reports the run as ERROR;
# `task reap` records its finish once, a second reap writes nothing, and the
# ledger verifies. The same reads work for a user who cannot write the
# repository.
. "$(dirname "$0")/lib.sh"

# orphan NS_FLAG CANDIDATE — start a detached run of CANDIDATE (its manifest
# in ../CANDIDATE.manifest) and kill -9 its runner and workers while a worker
# is on the large artifact; leave run id and task id in ../CANDIDATE.run and
# ../CANDIDATE.task.
orphan='orphan() {
	clean-release $1 --json compliance run --candidate-id $2 --manifest-id $(cat ../$2.manifest) \
		--actor release-bot --jobs 2 --detach >../$2-run.json
	json_get ../$2-run.json run_id >../$2.run
	json_get ../$2-run.json task_id >../$2.task
	# The demo namespace has task files of its own (and the same task ids).
	tf=$(task_file $(cat ../$2.task))
	[ -z "$1" ] || tf=$(echo "$tf" | sed "s|/clean-release/tasks/|/clean-release-demo/tasks/|")
	end=$(( $(date +%s) + 30 ))
	while ! runner=$(jq -er "select(.status == \"RUNNING\") | .pid" "$tf" 2>/dev/null); do
		test "$(date +%s)" -lt $end
		sleep 0.05
	done
	w=$(worker_on $runner "$TRASH/big/dist/huge.img")
	workers=$(pgrep -P $runner | tr "\n" " ")
	kill -KILL $runner
	# A worker that had nothing left to do may have exited meanwhile.
	kill -KILL $workers 2>/dev/null || :
	kill -CONT $w 2>/dev/null || :
	procs_gone $runner $workers
}'

# snapshot NAME — every ref, the object count and every object id, as NAME.*
snapshot='snapshot() {
	refs_snapshot >../$1.refs
	git count-objects -v | grep -v "^size" >../$1.count
	objects_snapshot >../$1.objects
}'
# unchanged NAME — the repository is exactly as snapshot NAME recorded it.
unchanged='unchanged() {
	snapshot now
	test_cmp ../$1.refs ../now.refs
	test_cmp ../$1.count ../now.count
	test_cmp ../$1.objects ../now.objects
}'

# reads NS_FLAG CANDIDATE [AS...] — every read command, run through AS (a
# command prefix, e.g. setpriv ...), each reporting the orphaned run as ERROR.
reads='reads() {
	ns=$1
	c=$2
	shift 2
	run=$(cat ../$c.run)
	task=$(cat ../$c.task)
	"$@" clean-release $ns candidate show --candidate-id $c --json >../r-show.json
	jq -e ".status == \"CHECK_ERROR\" and .latest_run_id == \"$run\" and .latest_report_id == null" ../r-show.json >/dev/null
	"$@" clean-release $ns candidate list --json >../r-list.json
	jq -e "[.candidates[] | select(.candidate_id == \"$c\") | .status] == [\"CHECK_ERROR\"]" ../r-list.json >/dev/null
	"$@" clean-release $ns candidate list --status CHECK_ERROR --json >../r-list-error.json
	jq -e "[.candidates[].candidate_id] | index(\"$c\") != null" ../r-list-error.json >/dev/null
	"$@" clean-release $ns compliance status --run-id $run --json >../r-status.json
	jq -e ".status == \"FAILED\" and .final_status == \"ERROR\" and .report_id == null
	       and (.reason | contains(\"vanished\"))" ../r-status.json >/dev/null
	"$@" clean-release $ns compliance stages --run-id $run --json >../r-stages.json
	jq -e ".run_id == \"$run\"" ../r-stages.json >/dev/null
	"$@" clean-release $ns compliance violations --run-id $run --json >../r-violations.json
	jq -e ".run_id == \"$run\" and (.violations | type == \"array\")" ../r-violations.json >/dev/null
	set +e
	"$@" clean-release $ns compliance report --run-id $run >../r-report.out 2>../r-report.err
	rc=$?
	set -e
	test $rc = 4
	grep -q "^clean-release: error: run $run is FAILED (ERROR): its runner vanished, and its finish is not recorded yet; no report yet\$" ../r-report.err
	grep -q "^hint: record it: git clean-release task reap" ../r-report.err
	"$@" clean-release $ns task status --task-id $task --json >../r-task.json
	jq -e ".status == \"FAILED\" and .pid == null and (.error | contains(\"vanished\"))" ../r-task.json >/dev/null
	"$@" clean-release $ns audit log --json >../r-audit.json
	jq -e "[.events[] | select(.type == \"compliance.run\" and .details.run_id == \"$run\")] | length == 1" ../r-audit.json >/dev/null
	jq -e "[.events[] | select(.type == \"compliance.finish\" and .details.run_id == \"$run\")] | length == 0" ../r-audit.json >/dev/null
	"$@" clean-release $ns policy show --json >../r-policy.json
	jq -e ".policy_snapshot.policy_digest | type == \"string\"" ../r-policy.json >/dev/null
	"$@" clean-release $ns verify >../r-verify.out
	grep -q "^ledger verified: " ../r-verify.out
}'

test_expect_success 'setup: a repository with the acme policy, a real and a demo candidate with a 2 GiB sparse artifact' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p ../big/dist
	printf "clean\n" >../big/dist/a.txt
	truncate -s 2G ../big/dist/huge.img
	(cd ../big && ls dist/*) | sed "s|\$| build:acme-ci/orders/9/pkg|" | artifacts_doc >../big/artifacts.json
	make_candidate real ../big/artifacts.json >../real.manifest
	clean-release -q --demo candidate register --candidate-id demo --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
	clean-release -q --demo candidate import-artifacts --candidate-id demo --input ../big/artifacts.json --actor release-bot
	clean-release --demo --json manifest build --candidate-id demo --actor release-bot | jq -er .manifest_id >../demo.manifest
'

test_expect_success 'kill -9 of the runner and workers of a detached run, in each namespace: no process is left' '
	'"$orphan"'
	cd repo
	orphan "" real
	orphan --demo demo
	test "$(jq -r .status "$(task_file $(cat ../real.task))")" = RUNNING
	test "$(jq -r .status "$(git rev-parse --absolute-git-dir)/clean-release-demo/tasks/$(cat ../demo.task).json")" = RUNNING
'

test_expect_success 'every read command (real and --demo) writes no ref and no object, and reports the orphaned run as ERROR' '
	'"$snapshot"'
	'"$unchanged"'
	'"$reads"'
	cd repo
	snapshot before
	reads "" real
	unchanged before
	reads --demo demo
	unchanged before
	# The task files are not rewritten by a read either.
	test "$(jq -r .status "$(task_file $(cat ../real.task))")" = RUNNING
	test "$(jq -r .status "$(git rev-parse --absolute-git-dir)/clean-release-demo/tasks/$(cat ../demo.task).json")" = RUNNING
'

test_expect_success 'the same reads succeed for a user who cannot write the repository (setpriv to nobody)' '
	'"$snapshot"'
	'"$unchanged"'
	'"$reads"'
	cd repo
	chmod 755 "$TRASH"
	# libgit2 1.5 refuses a repository owned by another user unless
	# safe.directory names it: nobody gets a HOME whose gitconfig holds
	# the exact entry for this work tree (and nothing else).
	mkdir -p ../nobody-home
	printf "[safe]\n\tdirectory = %s\n" "$(pwd)" >../nobody-home/.gitconfig
	chmod 755 ../nobody-home
	chmod 644 ../nobody-home/.gitconfig
	as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$TRASH/nobody-home"
	# nobody cannot write here: a write command is refused.
	test_must_fail $as_nobody clean-release candidate register --candidate-id intruder --version 1 \
		--source-snapshot v1.2.0-rc1 --actor nobody 2>../nobody-write.err
	grep -q "Permission denied" ../nobody-write.err
	snapshot before
	reads "" real $as_nobody
	reads --demo demo $as_nobody
	unchanged before
'

test_expect_success 'task reap records each orphaned run once (one commit each); a second reap writes nothing' '
	'"$snapshot"'
	'"$unchanged"'
	cd repo
	before=$(ledger_commits)
	clean-release task reap --actor reaper >../reap1.out
	echo "$(cat ../real.run) FAILED (ERROR): finish recorded by reaper" >../reap1.expect
	test_cmp ../reap1.expect ../reap1.out
	test $(ledger_commits) = $((before + 1))
	clean-release --demo task reap --actor reaper --json >../reap-demo.json
	jq -e ".actor == \"reaper\" and .reaped == [\"$(cat ../demo.run)\"]" ../reap-demo.json >/dev/null
	snapshot reaped
	clean-release task reap --actor reaper >../reap2.out
	echo "no orphaned run" >../reap2.expect
	test_cmp ../reap2.expect ../reap2.out
	clean-release --demo task reap --json >../reap-demo2.json
	jq -e ".reaped == []" ../reap-demo2.json >/dev/null
	unchanged reaped
	clean-release audit log --json >../audit.json
	jq -e "[.events[] | select(.type == \"compliance.finish\" and .details.run_id == \"$(cat ../real.run)\") | .actor] == [\"reaper\"]" ../audit.json >/dev/null
'

test_expect_success 'after the reap: the finish is recorded (report exists, exit 6), the candidate CHECK_ERROR, verify clean' '
	cd repo
	for ns in "" --demo; do
		c=real
		[ -z "$ns" ] || c=demo
		run=$(cat ../$c.run)
		clean-release $ns compliance status --run-id $run --json >../after.json
		validate_openapi ComplianceRun ../after.json
		jq -e ".status == \"FAILED\" and .final_status == \"ERROR\" and .report_id != null" ../after.json >/dev/null
		test_exit 6 clean-release $ns compliance report --run-id $run --json
		jq -e ".final_status == \"ERROR\" and .run_id == \"$run\"" "$TRASH/.cr-out" >/dev/null
		test "$(clean-release $ns candidate show --candidate-id $c --json | jq -r .status)" = CHECK_ERROR
		test "$(clean-release $ns task status --task-id $(cat ../$c.task) --json | jq -r .status)" = FAILED
		test_exit 0 clean-release $ns verify
	done
'

test_expect_success 'a write to the candidate records the finish of its orphaned run first, with its own actor' '
	'"$orphan"'
	cd repo
	m=$(clean-release --json manifest build --candidate-id real --actor release-bot | jq -r .manifest_id)
	echo $m >../real.manifest
	orphan "" real
	clean-release -q manifest build --candidate-id real --actor builder
	clean-release audit log --candidate-id real --json >../audit2.json
	jq -e "[.events[] | select(.type == \"compliance.finish\" and .details.run_id == \"$(cat ../real.run)\") | .actor] == [\"builder\"]" ../audit2.json >/dev/null
	test "$(clean-release candidate show --candidate-id real --json | jq -r .status)" = MANIFEST_BUILT
	clean-release task reap >../reap3.out
	echo "no orphaned run" >../reap3.expect
	test_cmp ../reap3.expect ../reap3.out
	test_exit 0 clean-release verify
'
