#!/bin/sh
# t40-api: the REST API over a real loopback socket, tried as a new user
# would with curl: the quickstart flow, the smoke checklist, the gates, the
# legacy routes, asynchronous runs seen by the CLI and the other way round,
# and a stop on SIGTERM. Every answer is validated against the OpenAPI
# document at the end.
. "$(dirname "$0")/lib.sh"

C=2026.03.09-rc1
export C

test_expect_success 'setup: the acme policy, clean artifacts in the work tree, a server without tokens acting as release-bot' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p dist/lib
	printf "fetch(\"https://nexus.acme.internal/repository/npm/\");\n" >dist/app.js
	yes "libacme core" | head -c 16384 >dist/lib/libacme-core.so
	printf "Acme Orders 1.2.0\n" >dist/README.txt
	cat >../artifacts.json <<-EOF
	{"artifacts": [
	  {"path": "dist/app.js", "source": "https://nexus.acme.internal/repository/npm/acme-orders-1.2.0.tgz"},
	  {"path": "dist/lib/libacme-core.so", "source": "build:acme-ci/orders/4821/build-linux-amd64", "size": 16384},
	  {"path": "dist/README.txt", "source": "build:acme-ci/orders/4821/docs"}
	]}
	EOF
	serve_start --actor release-bot
	grep "no tokens: loopback only, every request acts as release-bot with role approver" "$TRASH/serve.log"
	api_expect 200 GET /healthz
	test "$(jq -r .namespace "$TRASH/.api-out")" = real
'

test_expect_success 'smoke 1: POST /candidates creates the candidate and answers its overview (201, Location)' '
	cd repo
	curl -sS -D ../h1 -o /dev/null -X POST --data "{\"candidate_id\":\"x\",\"version\":\"1\"}" "$(cat "$TRASH/.serve-url")/candidates"
	grep "^HTTP/1.1 422" ../h1
	api_expect 201 POST /candidates -D ../h2 \
		--data "{\"candidate_id\":\"$C\",\"version\":\"1.2.0\",\"source_snapshot\":\"v1.2.0-rc1\"}"
	grep -i "^Location: /api/clean-release/candidates/$C" ../h2
	test "$(jq -r ".status, .created_by, .source_commit" "$TRASH/.api-out" | tr "\n" " ")" = \
		"DRAFT release-bot $(git rev-parse v1.2.0-rc1) "
	test "$(clean-release candidate show --candidate-id $C --json | jq -r .status)" = DRAFT
'

test_expect_success 'smoke 2: POST .../artifacts/import records the import and starts no run' '
	cd repo
	api_expect 201 POST /candidates/$C/artifacts/import --data-binary @../artifacts.json
	test "$(jq -r ".import_id, .artifact_count" "$TRASH/.api-out" | tr "\n" " ")" = "imp-001 3 "
	test "$(jq -r .artifact_root "$TRASH/.api-out")" = "$(pwd -P)"
	api_expect 200 GET /candidates/$C
	test "$(jq -r ".status, .latest_run_id" "$TRASH/.api-out" | tr "\n" " ")" = "PREPARED null "
	test -z "$(ls .git/clean-release/tasks 2>/dev/null | grep -v lock || true)"
'

test_expect_success 'smoke 3: POST .../manifest makes a new immutable manifest version (201, Location); GET lists it' '
	cd repo
	api_expect 201 POST /candidates/$C/manifest -D ../h3
	grep -i "^Location: /api/clean-release/manifests/man-001" ../h3
	test "$(jq -r ".manifest_id, .version, .artifact_count" "$TRASH/.api-out" | tr "\n" " ")" = "man-001 1 3 "
	api_expect 200 GET /manifests/man-001
	api_expect 200 GET /candidates/$C/manifests
	test "$(jq -c "[.manifests[].manifest_id]" "$TRASH/.api-out")" = "[\"man-001\"]"
'

test_expect_success 'gates over HTTP: approve before a passed report is 409 with exactly one REFUSED audit event' '
	cd repo
	before=$(clean-release audit log --json | jq "[.events[] | select(.outcome == \"REFUSED\")] | length")
	api_expect 409 POST /candidates/$C/approve --data "{\"report_id\":\"rpt-001\"}"
	test "$(api_code)" = INVALID_TRANSITION
	after=$(clean-release audit log --json | jq "[.events[] | select(.outcome == \"REFUSED\")] | length")
	test $after = $((before + 1))
'

test_expect_success 'smoke 4-8: POST .../compliance-runs is 202 with run_id, task_id, Location; live status; stages in order; violations; the report' '
	cd repo
	api_expect 202 POST /candidates/$C/compliance-runs -D ../h4 --data "{\"manifest_id\":\"man-001\"}"
	run=$(jq -r .run_id "$TRASH/.api-out")
	test "$run" = run-001
	test "$(jq -r .task_id "$TRASH/.api-out")" = task-run-001
	grep -i "^Location: /api/clean-release/compliance-runs/run-001" ../h4
	i=0
	while :; do
		api_expect 200 GET /compliance-runs/run-001
		st=$(jq -r .status "$TRASH/.api-out")
		[ "$st" = SUCCEEDED ] && break
		test "$st" = PENDING || test "$st" = RUNNING
		i=$((i + 1)); test $i -lt 400; sleep 0.05
	done
	test "$(jq -r ".final_status, .report_id, .progress.artifacts_done, .progress.artifacts_total" "$TRASH/.api-out" | tr "\n" " ")" = \
		"PASSED rpt-001 3 3 "
	test "$(clean-release compliance status --run-id run-001 --json | jq -r .status)" = SUCCEEDED
	api_expect 200 GET /compliance-runs/run-001/stages
	test "$(jq -c "[.stages[].stage]" "$TRASH/.api-out")" = \
		"[\"DATA_PURITY\",\"INTERNAL_SOURCES_ONLY\",\"NO_EXTERNAL_ENDPOINTS\",\"MANIFEST_CONSISTENCY\"]"
	api_expect 200 GET "/compliance-runs/run-001/violations?limit=10"
	test "$(jq -r .next_cursor "$TRASH/.api-out")" = null
	api_expect 200 GET /compliance-runs/run-001/report
	test "$(jq -r ".report_id, .final_status" "$TRASH/.api-out" | tr "\n" " ")" = "rpt-001 PASSED "
	clean-release compliance report --run-id run-001 --json >../cli-report.json
	cmp ../cli-report.json "$TRASH/.api-out"
	api_expect 200 GET /tasks/task-run-001
'

test_expect_success 'gates over HTTP: publish before approval is 409 with one REFUSED event; approve then publish work (smoke 9, 10)' '
	cd repo
	before=$(clean-release audit log --json | jq "[.events[] | select(.outcome == \"REFUSED\")] | length")
	api_expect 409 POST /candidates/$C/publish --data "{\"report_id\":\"rpt-001\",\"channel\":\"prod\"}"
	after=$(clean-release audit log --json | jq "[.events[] | select(.outcome == \"REFUSED\")] | length")
	test $after = $((before + 1))
	api_expect 200 POST /candidates/$C/approve --data "{\"report_id\":\"rpt-001\",\"comment\":\"ok\"}"
	test "$(jq -r ".decision, .actor" "$TRASH/.api-out" | tr "\n" " ")" = "APPROVED release-bot "
	api_expect 200 POST /candidates/$C/publish --data "{\"report_id\":\"rpt-001\",\"channel\":\"prod\"}"
	pub=$(jq -r .publication_id "$TRASH/.api-out")
	test "$(clean-release candidate show --candidate-id $C --json | jq -r .status)" = PUBLISHED
	api_expect 200 POST /candidates/$C/revoke --data "{\"publication_id\":\"$pub\",\"reason\":\"rolled back\"}"
	test "$(jq -r .revoked_by "$TRASH/.api-out")" = release-bot
	api_expect 200 GET "/audit?candidate_id=$C&limit=2"
	test "$(jq ".events | length" "$TRASH/.api-out")" = 2
	cur=$(jq -r .next_cursor "$TRASH/.api-out")
	api_expect 200 GET "/audit?candidate_id=$C&limit=2&cursor=$cur"
	api_expect 200 GET /policy
	test "$(jq -r ".namespace, .policy_snapshot.policy_version" "$TRASH/.api-out" | tr "\n" " ")" = "real 3 "
'

test_expect_success 'a run started by the CLI is seen over HTTP, and a detached one too' '
	cd repo
	clean-release -q candidate register --candidate-id c2 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
	clean-release -q candidate import-artifacts --candidate-id c2 --input ../artifacts.json --artifact-root . --actor release-bot
	mid=$(clean-release --json manifest build --candidate-id c2 --actor release-bot | jq -r .manifest_id)
	clean-release -q compliance run --candidate-id c2 --manifest-id $mid --actor release-bot
	run=$(clean-release candidate show --candidate-id c2 --json | jq -r .latest_run_id)
	api_expect 200 GET /compliance-runs/$run
	test "$(jq -r ".status, .final_status" "$TRASH/.api-out" | tr "\n" " ")" = "SUCCEEDED PASSED "
	api_expect 200 GET "/candidates?status=CHECK_PASSED&limit=1"
	test "$(jq -r ".candidates[0].candidate_id" "$TRASH/.api-out")" = c2
'

test_expect_success 'answers the server keeps never outlive a write by another process: a CLI approve shows at the next GET' '
	cd repo
	api_expect 200 GET /candidates/c2
	api_expect 200 GET /candidates/c2
	test "$(jq -r .status "$TRASH/.api-out")" = CHECK_PASSED
	rpt=$(jq -r .latest_report_id "$TRASH/.api-out")
	api_expect 200 GET "/audit?candidate_id=c2&limit=1000"
	n=$(jq ".events | length" "$TRASH/.api-out")
	clean-release -q release approve --candidate-id c2 --report-id $rpt --actor release-owner
	api_expect 200 GET /candidates/c2
	test "$(jq -r .status "$TRASH/.api-out")" = APPROVED
	api_expect 200 GET "/audit?candidate_id=c2&limit=1000"
	test "$(jq ".events | length" "$TRASH/.api-out")" = $((n + 1))
'

test_expect_success 'the legacy /checks routes answer every method 410 with Deprecation and Link, and write nothing' '
	cd repo
	refs_snapshot >../refs
	for m in GET POST PUT DELETE PATCH; do
		api_expect 410 $m /checks -D ../hl
		test "$(api_code)" = LEGACY_ENDPOINT_REMOVED
		grep -i "^Deprecation: " ../hl
		grep -i "^Link: <.*compliance-runs>" ../hl
		api_expect 410 $m /checks/42 --data "{\"candidate_id\":\"$C\"}"
	done
	check_refs_unchanged ../refs
'

test_expect_success 'unknown routes and methods are 404; a request from a browser (Origin) is 403 without tokens' '
	cd repo
	api_expect 404 GET /nope
	api_expect 404 DELETE /candidates/$C
	api_expect 404 GET /candidates/$C/
	api_expect 403 GET /candidates -H "Origin: https://evil.example"
	test "$(api_code)" = FORBIDDEN
'

test_expect_success 'SIGTERM: the server stops accepting, exits 0, says so' '
	cd repo
	pid=$(cat "$TRASH/.serve-pid")
	serve_stop TERM
	grep "clean-release serve: SIGTERM" "$TRASH/serve.log"
	grep "clean-release serve: stopped" "$TRASH/serve.log"
	grep "^POST /api/clean-release/candidates/$C/approve 200 [0-9]* [0-9.]* release-bot$" "$TRASH/serve.log"
	test_must_fail curl -s "$(cat "$TRASH/.serve-url")/healthz" >/dev/null
	test_exit 0 clean-release verify
'

test_expect_success 'every answer above is the contract response for its path, method and status' '
	api_validate_all
'

test_expect_success 'the shipped OpenAPI document passes a real OpenAPI linter (redocly lint, no warning beyond the three the contract makes on purpose)' '
	redocly lint --format stylish --config "$CR_TESTS_DIR/redocly.yaml" "$CR_TESTS_DIR/../../schemas/clean-release-api.openapi.yaml" >../lint.out 2>&1
	! grep -i "warning\|error" ../lint.out | grep -v "Deprecation warning\|Node.js"
'
