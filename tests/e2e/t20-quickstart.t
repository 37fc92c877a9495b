#!/bin/sh
# t20-quickstart: section 2 of the quickstart, verbatim, on a real repository
# with a published policy and clean artifacts — from registration to a
# published release — with every --json document checked against the
# contracts and every digest recomputed independently.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a repository tagged v1.2.0-rc1, the acme policy published, clean artifacts and artifacts.json in the cwd' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p dist/lib dist/config
	printf "import {api} from \"./api.js\";\nfetch(\"https://nexus.acme.internal/repository/npm/\");\n" >dist/app.js
	printf "{\"auth\": \"https://sso.acme.internal/oauth2\",\n \"orders\": \"https://orders.svc.acme.internal/v1\"}\n" >dist/config/service.json
	yes "libacme core, not really a shared object" | head -c 16384 >dist/lib/libacme-core.so
	printf "Acme Orders 1.2.0\nSee the internal wiki for the release notes.\n" >dist/README.txt
	cat >artifacts.json <<-EOF
	{
	  "artifacts": [
	    {"path": "dist/app.js", "source": "https://nexus.acme.internal/repository/npm/acme-orders-1.2.0.tgz",
	     "kind": "script", "media_type": "text/javascript"},
	    {"path": "dist/config/service.json", "source": "build:acme-ci/orders/4821/package"},
	    {"path": "dist/lib/libacme-core.so", "source": "build:acme-ci/orders/4821/build-linux-amd64",
	     "kind": "library", "sha256": "$(sha256_of dist/lib/libacme-core.so)", "size": 16384},
	    {"path": "dist/README.txt", "source": "build:acme-ci/orders/4821/docs"}
	  ]
	}
	EOF
	validate_schema artifacts.schema.json artifacts.json
	git rev-parse "v1.2.0-rc1^{commit}" >../source-commit
'

test_expect_success 'quickstart: candidate registration and artifact import, verbatim' '
	cd repo
	clean-release candidate register \
	  --candidate-id 2026.03.09-rc1 \
	  --version 1.2.0 \
	  --source-snapshot v1.2.0-rc1 \
	  --actor release-bot
	clean-release candidate import-artifacts \
	  --candidate-id 2026.03.09-rc1 \
	  --input artifacts.json \
	  --actor release-bot
	clean-release candidate show --candidate-id 2026.03.09-rc1 --json >../show-prepared.json
	validate_openapi Candidate ../show-prepared.json
	test "$(json_get ../show-prepared.json status)" = PREPARED
	test "$(json_get ../show-prepared.json latest_import_id)" = imp-001
	test "$(json_get ../show-prepared.json source_commit)" = "$(cat ../source-commit)"
'

test_expect_success 'quickstart: manifest build, verbatim, makes man-001' '
	cd repo
	clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot
	clean-release manifest show --manifest-id man-001 --json >../man-001.json
	validate_openapi Manifest ../man-001.json
	test "$(json_get ../man-001.json artifact_count)" = 4
	test "$(candidate_status 2026.03.09-rc1)" = MANIFEST_BUILT
'

test_expect_success 'quickstart: compliance run --json, verbatim, exits 0 with a valid ComplianceRun: run-001 SUCCEEDED PASSED, rpt-001' '
	cd repo
	clean-release compliance run --candidate-id 2026.03.09-rc1 --manifest-id man-001 --actor release-bot --json >../run.json
	validate_openapi ComplianceRun ../run.json
	jq -e ".run_id == \"run-001\" and .report_id == \"rpt-001\" and .status == \"SUCCEEDED\"
	       and .final_status == \"PASSED\" and .candidate_id == \"2026.03.09-rc1\"
	       and .manifest_id == \"man-001\" and .requested_by == \"release-bot\"
	       and .progress == {\"artifacts_done\": 4, \"artifacts_total\": 4}" ../run.json >/dev/null
	test "$(json_get ../run.json manifest_digest)" = "$(json_get ../man-001.json manifest_digest)"
	test "$(jq -r .policy_snapshot.resolved_from.commit ../run.json)" = "$(git rev-parse refs/clean-release/policy)"
	test "$(jq -r .policy_snapshot.resolved_from.ref ../run.json)" = refs/clean-release/policy
	test "$(jq -r ".policy_snapshot.policy_id, .policy_snapshot.policy_version" ../run.json | paste -sd" ")" = "acme-release 3"
	test "$(jq -r ".registry_snapshot.registry_id, .registry_snapshot.registry_version" ../run.json | paste -sd" ")" = "acme-internal 7"
	test "$(candidate_status 2026.03.09-rc1)" = CHECK_PASSED
'

test_expect_success 'quickstart: compliance status --json, verbatim, is a valid ComplianceRun equal to what run printed' '
	cd repo
	clean-release compliance status --run-id run-001 --json >../status.json
	validate_openapi ComplianceRun ../status.json
	jq -S . ../run.json >../run.sorted
	jq -S . ../status.json >../status.sorted
	test_cmp ../run.sorted ../status.sorted
'

test_expect_success 'the run agrees with its task: task status --json is a valid Task, SUCCEEDED, same run and progress' '
	cd repo
	task_id=$(json_get ../status.json task_id)
	clean-release task status --task-id "$task_id" --json >../task.json
	validate_openapi Task ../task.json
	jq -e --arg t "$task_id" ".task_id == \$t and .type == \"compliance_run\" and .status == \"SUCCEEDED\"
	       and .run_id == \"run-001\" and .pid == null and .error == null" ../task.json >/dev/null
	test "$(jq -c .progress ../task.json)" = "$(jq -c .progress ../status.json)"
	test -f "$(task_file "$task_id")"
'

test_expect_success 'quickstart: compliance report --json, verbatim, is a valid Report (OpenAPI and report.schema.json) of run-001' '
	cd repo
	clean-release compliance report --run-id run-001 --json >../report.json
	validate_openapi Report ../report.json
	validate_schema report.schema.json ../report.json
	jq -e ".report_id == \"rpt-001\" and .run_id == \"run-001\" and .candidate_id == \"2026.03.09-rc1\"
	       and .manifest_id == \"man-001\" and .final_status == \"PASSED\"
	       and .violation_counts == {\"total\": 0, \"blocker\": 0, \"warning\": 0, \"by_stage\":
	            {\"DATA_PURITY\": 0, \"INTERNAL_SOURCES_ONLY\": 0, \"NO_EXTERNAL_ENDPOINTS\": 0, \"MANIFEST_CONSISTENCY\": 0}}
	       and ([.stages[] | .status] == [\"PASSED\", \"PASSED\", \"PASSED\", \"PASSED\"])
	       and ([.stages[] | .artifacts_checked] == [4, 4, 4, 4])" ../report.json >/dev/null
	test "$(json_get ../report.json manifest_digest)" = "$(json_get ../man-001.json manifest_digest)"
'

test_expect_success 'the report_digest recomputes from every other field of the report' '
	report_digest_ok report.json
	jq ".final_status = \"BLOCKED\"" report.json >report-tampered.json
	test_must_fail report_digest_ok report-tampered.json 2>/dev/null
'

test_expect_success 'policy_digest and registry_digest are the sha256 of the documents on refs/clean-release/policy' '
	cd repo
	git cat-file -p refs/clean-release/policy:policy.json >../policy.blob
	git cat-file -p refs/clean-release/policy:registry.json >../registry.blob
	test "$(json_get ../report.json policy_digest)" = "$(sha256_of ../policy.blob)"
	test "$(json_get ../report.json registry_digest)" = "$(sha256_of ../registry.blob)"
	test "$(jq -r .policy_snapshot.policy_digest ../run.json)" = "$(sha256_of ../policy.blob)"
	test "$(jq -r .registry_snapshot.registry_digest ../run.json)" = "$(sha256_of ../registry.blob)"
'

test_expect_success 'compliance stages --json lists the four stages in their fixed order, as the report summarizes them' '
	cd repo
	clean-release compliance stages --run-id run-001 --json >../stages.json
	validate_openapi StageList ../stages.json
	jq -r ".stages[].stage" ../stages.json >../stage-names
	printf "%s\n" DATA_PURITY INTERNAL_SOURCES_ONLY NO_EXTERNAL_ENDPOINTS MANIFEST_CONSISTENCY >../stage-names.expect
	test_cmp ../stage-names.expect ../stage-names
	jq -c "[.stages[] | {stage, status, artifacts_checked, violation_count}]" ../stages.json >../stages.summary
	jq -c "[.stages[] | {stage, status, artifacts_checked, violation_count}]" ../report.json >../report.summary
	test_cmp ../report.summary ../stages.summary
	test "$(jq -r "[.stages[].run_id] | unique | .[]" ../stages.json)" = run-001
'

test_expect_success 'compliance violations --json of the clean run is an empty ViolationList' '
	cd repo
	clean-release compliance violations --run-id run-001 --json >../violations.json
	validate_openapi ViolationList ../violations.json
	jq -e ".run_id == \"run-001\" and .violations == [] and .next_cursor == null" ../violations.json >/dev/null
'

test_expect_success 'quickstart: release approve and release publish, verbatim, exit 0: the candidate is PUBLISHED' '
	cd repo
	clean-release release approve --candidate-id 2026.03.09-rc1 --report-id rpt-001 --actor release-owner
	test "$(candidate_status 2026.03.09-rc1)" = APPROVED
	clean-release release publish --candidate-id 2026.03.09-rc1 --report-id rpt-001 --channel prod --actor release-owner
	clean-release candidate show --candidate-id 2026.03.09-rc1 --json >../show-published.json
	validate_openapi Candidate ../show-published.json
	jq -e ".status == \"PUBLISHED\" and .latest_manifest_id == \"man-001\"
	       and .latest_run_id == \"run-001\" and .latest_report_id == \"rpt-001\"" ../show-published.json >/dev/null
'

test_expect_success 'git log --notes=clean-release on the source commit shows the candidate PUBLISHED' '
	cd repo
	git log -1 --notes=clean-release "$(cat ../source-commit)" >../notes.out
	grep "^    2026\.03\.09-rc1: PUBLISHED" ../notes.out
'

test_expect_success 'verify finds the ledger clean after the whole flow' '
	cd repo
	clean-release verify
	clean-release verify --json >../verify.json
	jq -e ".ok == true and .commits > 0 and .objects > 0" ../verify.json >/dev/null
'

test_expect_success 'the audit log has compliance.run, compliance.finish, release.approve, release.publish ACCEPTED, in order' '
	cd repo
	clean-release audit log --candidate-id 2026.03.09-rc1 --json >../audit.json
	validate_openapi AuditEventList ../audit.json
	jq -r ".events[] | select(.outcome == \"ACCEPTED\") | \"\(.type) \(.actor)\"" ../audit.json >../audit.accepted
	cat >../audit.expect <<-EOF
	candidate.register release-bot
	candidate.import_artifacts release-bot
	manifest.build release-bot
	compliance.run release-bot
	compliance.finish release-bot
	release.approve release-owner
	release.publish release-owner
	EOF
	test_cmp ../audit.expect ../audit.accepted
	test "$(jq "[.events[] | select(.outcome != \"ACCEPTED\")] | length" ../audit.json)" = 0
	test "$(jq -r "[.events[].candidate_id] | unique | .[]" ../audit.json)" = 2026.03.09-rc1
'
