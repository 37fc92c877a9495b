#!/bin/sh
# t22-gates: the lifecycle gates of compliance run, approve, reject, publish
# and revoke. Each refusal exits 3, names the status and what is allowed, and
# appends exactly one ledger commit: its REFUSED audit event. Each input error
# exits 2 and writes nothing.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a repository with the acme policy, a clean corpus and a blocked corpus' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p ../clean/dist/lib ../blocked/dist/tests
	printf "console.log(\"orders\");\n" >../clean/dist/app.js
	printf "shared object\n" >../clean/dist/lib/liborders.so
	printf "Acme Orders\n" >../clean/dist/README.txt
	artifacts_doc >../clean/artifacts.json <<-\EOF
	dist/app.js https://nexus.acme.internal/repository/npm/orders-1.2.0.tgz
	dist/lib/liborders.so build:acme-ci/orders/77/build
	dist/README.txt build:acme-ci/orders/77/docs
	EOF
	cp -R ../clean/dist ../blocked/
	printf "{}\n" >../blocked/dist/tests/orders.json
	{ cat ../clean/artifacts.json; echo "{\"artifacts\":[{\"path\":\"dist/tests/orders.json\",\"source\":\"build:acme-ci/orders/77/t\"}]}"; } |
		jq -s "{artifacts: (.[0].artifacts + .[1].artifacts)}" >../blocked/artifacts.json
	validate_schema artifacts.schema.json ../clean/artifacts.json
	validate_schema artifacts.schema.json ../blocked/artifacts.json
'

test_expect_success 'approve of a BLOCKED run is refused: exit 3, the message names CHECK_BLOCKED and what is allowed, one REFUSED event' '
	cd repo
	m=$(make_candidate g-blocked ../blocked/artifacts.json)
	test_exit 1 clean-release compliance run --candidate-id g-blocked --manifest-id $m --actor release-bot --json
	rpt=$(jq -r .report_id "$TRASH/.cr-out")
	gate_refused release.approve CHECK_BLOCKED \
		clean-release release approve --candidate-id g-blocked --report-id $rpt --actor release-owner
	grep -q "CHECK_BLOCKED" "$TRASH/.cr-err"
	grep -qi "allowed" "$TRASH/.cr-err"
	test "$(candidate_status g-blocked)" = CHECK_BLOCKED
'

test_expect_success 'with --json the refusal is an error document with the status and the allowed operations' '
	cd repo
	rpt=$(clean-release candidate show --candidate-id g-blocked --json | jq -r .latest_report_id)
	gate_refused release.approve CHECK_BLOCKED \
		clean-release --json release approve --candidate-id g-blocked --report-id $rpt --actor release-owner
	cp "$TRASH/.cr-out" ../refusal.json
	validate_error ../refusal.json
	jq -e "(.error.code == \"INVALID_TRANSITION\" or .error.code == \"GATE_REFUSED\")
	       and .error.details.status == \"CHECK_BLOCKED\"
	       and (.error.details.allowed | type == \"array\" and length > 0)" ../refusal.json >/dev/null
'

test_expect_success 'approve of an ERROR run is refused: exit 3 naming CHECK_ERROR, one REFUSED event' '
	cd repo
	m=$(make_candidate g-error ../clean/artifacts.json)
	test_exit 6 env CR_TEST_WORKER_CRASH=dist/app.js clean-release compliance run --candidate-id g-error --manifest-id $m --actor release-bot --json
	test "$(jq -r .final_status "$TRASH/.cr-out")" = ERROR
	rpt=$(jq -r .report_id "$TRASH/.cr-out")
	gate_refused release.approve CHECK_ERROR \
		clean-release release approve --candidate-id g-error --report-id $rpt --actor release-owner
	grep -q "CHECK_ERROR" "$TRASH/.cr-err"
	grep -qi "allowed" "$TRASH/.cr-err"
	test "$(candidate_status g-error)" = CHECK_ERROR
'

test_expect_success 'approve with a report that is not the latest run'"'"'s report is refused (an older ERROR run of the same manifest, re-run PASSED)' '
	cd repo
	m=$(make_candidate g-stale ../clean/artifacts.json)
	test_exit 6 env CR_TEST_WORKER_CRASH=dist/README.txt clean-release compliance run --candidate-id g-stale --manifest-id $m --actor release-bot --json
	old=$(jq -r .report_id "$TRASH/.cr-out")
	test_exit 0 clean-release compliance run --candidate-id g-stale --manifest-id $m --actor release-bot --json
	new=$(jq -r .report_id "$TRASH/.cr-out")
	test "$old" != "$new"
	echo "$old $new" >../g-stale.reports
	test "$(candidate_status g-stale)" = CHECK_PASSED
	gate_refused release.approve CHECK_PASSED \
		clean-release release approve --candidate-id g-stale --report-id $old --actor release-owner
	grep -q "$old" "$TRASH/.cr-err"
	test "$(candidate_status g-stale)" = CHECK_PASSED
'

test_expect_success 'approve with the PASSED report of another candidate is refused' '
	cd repo
	m=$(make_candidate g-passed ../clean/artifacts.json)
	test_exit 0 clean-release compliance run --candidate-id g-passed --manifest-id $m --actor release-bot --json
	mine=$(jq -r .report_id "$TRASH/.cr-out")
	echo $mine >../g-passed.report
	other=$(cut -d" " -f2 ../g-stale.reports)
	gate_refused release.approve CHECK_PASSED \
		clean-release release approve --candidate-id g-passed --report-id $other --actor release-owner
	grep -q "$other" "$TRASH/.cr-err"
	test "$(candidate_status g-passed)" = CHECK_PASSED
'

test_expect_success 'publish before approval is refused: exit 3 naming CHECK_PASSED, one REFUSED event' '
	cd repo
	gate_refused release.publish CHECK_PASSED \
		clean-release release publish --candidate-id g-passed --report-id $(cat ../g-passed.report) --channel prod --actor release-owner
	grep -q "CHECK_PASSED" "$TRASH/.cr-err"
	grep -qi "allowed" "$TRASH/.cr-err"
	test "$(candidate_status g-passed)" = CHECK_PASSED
'

test_expect_success 'approve of the latest PASSED report is accepted; publish with a report other than the approved one is refused' '
	cd repo
	read old new <../g-stale.reports
	clean-release release approve --candidate-id g-stale --report-id $new --actor release-owner
	test "$(candidate_status g-stale)" = APPROVED
	gate_refused release.publish APPROVED \
		clean-release release publish --candidate-id g-stale --report-id $old --channel prod --actor release-owner
	grep -q "$old" "$TRASH/.cr-err"
	test "$(candidate_status g-stale)" = APPROVED
'

test_expect_success 'a channel outside ^[a-z][a-z0-9-]{0,31}$ is an input error: exit 2, nothing written' '
	cd repo
	read old new <../g-stale.reports
	for ch in Prod p_1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1prod -prod "prod eu" prod/eu ""; do
		test_refuses 2 clean-release release publish --candidate-id g-stale --report-id $new --channel "$ch" --actor release-owner
	done
	test "$(candidate_status g-stale)" = APPROVED
'

test_expect_success 'publish --tag: a missing tag, one outside release_tag_pattern and one on another commit are refused (exit 3, recorded)' '
	cd repo
	read old new <../g-stale.reports
	src=$(clean-release candidate show --candidate-id g-stale --json | jq -r .source_commit)
	gate_refused release.publish APPROVED \
		clean-release release publish --candidate-id g-stale --report-id $new --channel prod --tag v9.9.9 --actor release-owner
	grep "refs/tags/v9.9.9 does not exist" "$TRASH/.cr-err"
	git tag release-1 $src
	gate_refused release.publish APPROVED \
		clean-release release publish --candidate-id g-stale --report-id $new --channel prod --tag release-1 --actor release-owner
	grep "does not match the policy" "$TRASH/.cr-err"
	git commit -q --allow-empty -m "not the candidate"
	git tag v1.3.0 HEAD
	test "$(git rev-parse v1.3.0^{commit})" != "$src"
	gate_refused release.publish APPROVED \
		clean-release release publish --candidate-id g-stale --report-id $new --channel prod --tag v1.3.0 --actor release-owner
	grep "the tag points at $(git rev-parse --short=12 v1.3.0^{commit}), the candidate.s source_commit is $(echo $src | cut -c1-12)" "$TRASH/.cr-err"
	test "$(candidate_status g-stale)" = APPROVED
	test "$(clean-release audit log --candidate-id g-stale --json | jq "[.events[] | select(.type == \"release.publish\" and .outcome == \"REFUSED\")] | length")" -ge 3
'

test_expect_success 'publish of the approved report to a 32-character channel is accepted: PUBLISHED' '
	cd repo
	read old new <../g-stale.reports
	src=$(clean-release candidate show --candidate-id g-stale --json | jq -r .source_commit)
	git tag -a -m "release 1.2.0" v1.2.0 $src
	clean-release --json release publish --candidate-id g-stale --report-id $new \
		--channel p234567890123456789012345678901x --tag v1.2.0 --actor release-owner >../pub.json
	validate_openapi Publication ../pub.json
	test "$(json_get ../pub.json tag)" = v1.2.0
	test "$(json_get ../pub.json tag_commit)" = "$src"
	test "$(json_get ../pub.json channel)" = p234567890123456789012345678901x
	json_get ../pub.json publication_id >../g-stale.pub
	test "$(candidate_status g-stale)" = PUBLISHED
'

test_expect_success 'revoke after publish is accepted: REVOKED, and REVOKED is terminal' '
	cd repo
	read old new <../g-stale.reports
	pub=$(cat ../g-stale.pub)
	clean-release release revoke --candidate-id g-stale --publication-id $pub --reason "found a licence problem" --actor release-owner
	test "$(candidate_status g-stale)" = REVOKED
	gate_refused release.revoke REVOKED \
		clean-release release revoke --candidate-id g-stale --publication-id $pub --reason again --actor release-owner
	gate_refused release.publish REVOKED \
		clean-release release publish --candidate-id g-stale --report-id $new --channel prod --actor release-owner
	gate_refused release.approve REVOKED \
		clean-release release approve --candidate-id g-stale --report-id $new --actor release-owner
	test "$(candidate_status g-stale)" = REVOKED
'

test_expect_success 'reject from CHECK_PASSED is accepted and REJECTED is terminal' '
	cd repo
	rpt=$(cat ../g-passed.report)
	clean-release release reject --candidate-id g-passed --report-id $rpt --comment "not this week" --actor release-owner
	test "$(candidate_status g-passed)" = REJECTED
	gate_refused release.approve REJECTED \
		clean-release release approve --candidate-id g-passed --report-id $rpt --actor release-owner
	gate_refused release.reject REJECTED \
		clean-release release reject --candidate-id g-passed --report-id $rpt --actor release-owner
	gate_refused manifest.build REJECTED \
		clean-release manifest build --candidate-id g-passed --actor release-bot
	m=$(clean-release candidate show --candidate-id g-passed --json | jq -r .latest_manifest_id)
	gate_refused compliance.run REJECTED \
		clean-release compliance run --candidate-id g-passed --manifest-id $m --actor release-bot
	test "$(candidate_status g-passed)" = REJECTED
'

test_expect_success 'import-artifacts on a REJECTED candidate is refused, and the refusal names the candidate' '
	cd repo
	gate_refused candidate.import_artifacts REJECTED \
		clean-release candidate import-artifacts --candidate-id g-passed --input ../clean/artifacts.json --actor release-bot
	test "$(candidate_status g-passed)" = REJECTED
'

test_expect_success 'reject from APPROVED is accepted; publish is then refused' '
	cd repo
	m=$(make_candidate g-reject ../clean/artifacts.json)
	test_exit 0 clean-release compliance run --candidate-id g-reject --manifest-id $m --actor release-bot --json
	rpt=$(jq -r .report_id "$TRASH/.cr-out")
	clean-release release approve --candidate-id g-reject --report-id $rpt --actor release-owner
	clean-release --json release reject --candidate-id g-reject --report-id $rpt --actor release-owner >../rej.json
	validate_openapi Approval ../rej.json
	test "$(json_get ../rej.json decision)" = REJECTED
	test "$(candidate_status g-reject)" = REJECTED
	gate_refused release.publish REJECTED \
		clean-release release publish --candidate-id g-reject --report-id $rpt --channel prod --actor release-owner
'

test_expect_success 'a run against a manifest that is not the latest (man-A after man-B) is refused; the latest runs' '
	cd repo
	a=$(make_candidate g-manifest ../clean/artifacts.json)
	b=$(clean-release --json manifest build --candidate-id g-manifest --actor release-bot | jq -r .manifest_id)
	test "$a" != "$b"
	gate_refused compliance.run MANIFEST_BUILT \
		clean-release compliance run --candidate-id g-manifest --manifest-id $a --actor release-bot
	grep -q "$a" "$TRASH/.cr-err"
	test "$(candidate_status g-manifest)" = MANIFEST_BUILT
	clean-release -q compliance run --candidate-id g-manifest --manifest-id $b --actor release-bot
	test "$(candidate_status g-manifest)" = CHECK_PASSED
'

test_expect_success 'a run against a manifest built from an older import (imported again after building) is refused' '
	cd repo
	m=$(make_candidate g-import ../clean/artifacts.json)
	clean-release -q candidate import-artifacts --candidate-id g-import --input ../clean/artifacts.json --actor release-bot
	test "$(candidate_status g-import)" = PREPARED
	gate_refused compliance.run PREPARED \
		clean-release compliance run --candidate-id g-import --manifest-id $m --actor release-bot
	test "$(candidate_status g-import)" = PREPARED
'

test_expect_success 'with no policy published, compliance run is an input error (exit 2) that says how to publish one, and writes nothing' '
	new_repo nopolicy
	cd nopolicy
	m=$(make_candidate g-nopolicy ../clean/artifacts.json)
	test_refuses 2 clean-release compliance run --candidate-id g-nopolicy --manifest-id $m --actor release-bot
	grep -q "clean-release policy publish" "$TRASH/.cr-err"
	test "$(candidate_status g-nopolicy)" = MANIFEST_BUILT
	test_must_fail git rev-parse -q --verify refs/clean-release/policy
'

test_expect_success 'setup: a candidate whose run hangs on one artifact until its 6 s time limit' '
	new_repo busy
	cd busy
	publish_acme_policy ".limits.per_artifact_timeout_ms = 6000"
	make_candidate g-busy ../clean/artifacts.json >../busy.manifest
'

test_expect_success 'while a run is unfinished: its report is not found (exit 4, "is RUNNING; no report yet") and a second run is refused (exit 3)' '
	cd busy
	m=$(cat ../busy.manifest)
	CR_TEST_WORKER_HANG=dist/README.txt clean-release --json compliance run --candidate-id g-busy --manifest-id $m \
		--actor release-bot --jobs 1 --detach >../busy-run.json
	run=$(json_get ../busy-run.json run_id)
	task=$(json_get ../busy-run.json task_id)
	echo $run >../busy.run
	wait_runner $task >/dev/null
	clean-release compliance status --run-id $run --json >../busy-status.json
	test "$(json_get ../busy-status.json status)" = RUNNING
	test "$(candidate_status g-busy)" = CHECK_RUNNING
	test_exit 4 clean-release compliance report --run-id $run
	head -n 1 "$TRASH/.cr-err" >../busy-report.err
	test_exit 4 clean-release --json compliance report --run-id $run
	cp "$TRASH/.cr-out" ../busy-report.json
	gate_refused compliance.run CHECK_RUNNING \
		clean-release compliance run --candidate-id g-busy --manifest-id $m --actor release-bot
	test "$(run_field $run status)" = RUNNING
	echo "clean-release: error: run $run is RUNNING; no report yet" >../busy-report.expect
	test_cmp ../busy-report.expect ../busy-report.err
	validate_error ../busy-report.json
	test "$(jq -r .error.message ../busy-report.json)" = "run $run is RUNNING; no report yet"
	validate_openapi ComplianceRun ../busy-status.json
	jq -e ".final_status == null and .report_id == null and .finished_at == null" ../busy-status.json >/dev/null
'

test_expect_success 'the hanging run then finishes by itself as ERROR naming the artifact, and a new run is accepted' '
	cd busy
	run=$(cat ../busy.run)
	wait_run_finished $run 30
	test "$(run_field $run final_status)" = ERROR
	run_field $run reason | grep -q "dist/README.txt"
	test "$(candidate_status g-busy)" = CHECK_ERROR
	clean-release -q compliance run --candidate-id g-busy --manifest-id $(cat ../busy.manifest) --actor release-bot
	test "$(candidate_status g-busy)" = CHECK_PASSED
'

test_expect_success 'the ledgers verify after all these refusals and the audit logs are valid AuditEventLists' '
	clean-release -C repo verify
	clean-release -C busy verify
	clean-release -C nopolicy verify
	clean-release -C repo audit log --json >audit-repo.json
	validate_openapi AuditEventList audit-repo.json
	clean-release -C busy audit log --json >audit-busy.json
	validate_openapi AuditEventList audit-busy.json
	test "$(clean-release -C nopolicy audit log --json | jq "[.events[] | select(.outcome == \"REFUSED\")] | length")" = 0
	# Every refusal is recorded against its candidate and its message names it.
	jq -e "[.events[] | select(.outcome == \"REFUSED\")] | length > 10" audit-repo.json >/dev/null
	jq -c ".events[] | select(.outcome == \"REFUSED\") | . as \$e
	       | select(\$e.candidate_id == null or (\$e.details.error.message | contains(\$e.candidate_id) | not))" \
		audit-repo.json audit-busy.json >unattributed
	test_cmp /dev/null unattributed
'
