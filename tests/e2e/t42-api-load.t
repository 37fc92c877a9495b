#!/bin/sh
# t42-api-load: the REST API under a bounded load on loopback (32 clients
# for 10 s mixing GETs and registers while a CLI process registers too),
# and runs that outlive their server (SIGTERM, kill -9).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: the acme policy, an approver token, a server, a seed candidate' '
	new_repo repo
	cd repo
	publish_acme_policy
	clean-release token new --actor load-bot --role approver >../token 2>../token.err
	sed -n 2p ../token.err >../tokens && chmod 600 ../tokens
	serve_start --tokens ../tokens
	TOKEN=$(cat ../token) api_expect 201 POST /candidates --data "{\"candidate_id\":\"seed\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
'

test_expect_success 'load: 32 clients for 10 s and a CLI writer at once; no 5xx, every accepted write there once, unique ids, verify clean' '
	cd repo
	mkdir -p ../load
	( i=0; while [ ! -e ../load/stop ]; do
		i=$((i + 1))
		clean-release -q candidate register --candidate-id cli-$i --version 1 --source-snapshot HEAD --actor cli-bot \
			&& echo cli-$i >>../load/cli-registered
	  done ) &
	cli=$!
	/usr/bin/python3 "$CR_TESTS_DIR/api_load.py" "$(cat "$TRASH/.serve-url")" "$(cat ../token)" 32 10 ../load
	touch ../load/stop
	wait $cli
	test_must_fail grep -v "^[1-4][0-9][0-9]$" ../load/statuses
	! grep "^5" ../load/statuses
	test "$(grep -c "^201$" ../load/statuses)" = "$(wc -l <../load/registered)"
	test "$(wc -l <../load/registered)" -gt 50
	test "$(wc -l <../load/cli-registered)" -gt 5
	clean-release candidate list --json | jq -r ".candidates[].candidate_id" | sort >../load/all
	test -z "$(uniq -d ../load/all)"
	sort ../load/registered ../load/cli-registered >../load/accepted
	test -z "$(uniq -d ../load/accepted)"
	test "$(comm -23 ../load/accepted ../load/all | wc -l)" = 0
	test "$(wc -l <../load/all)" = $(( $(wc -l <../load/accepted) + 1 ))
	test_exit 0 clean-release verify
	test "$(clean-release audit log --json | jq "[.events[] | select(.type == \"candidate.register\")] | map(.event_id) | unique | length")" = "$(wc -l <../load/all)"
'

# A run that lasts: one artifact hangs its worker until the policy time limit.
slow_run='
	hang_setup() {
		mkdir -p dist && printf "ok\n" >dist/ok.txt && printf "hang\n" >dist/hang.txt
		printf "dist/ok.txt -\ndist/hang.txt -\n" | artifacts_doc >../slow.json
	}
'
export slow_run

test_expect_success 'SIGTERM of the server during a run: it exits 0, the run still ends (its runner is a process of its own), verify clean' '
	cd repo
	eval "$slow_run"
	hang_setup
	serve_stop
	publish_acme_policy ".version = 4 | .limits.per_artifact_timeout_ms = 2000"
	CR_TEST_WORKER_HANG=dist/hang.txt serve_start --tokens ../tokens
	export TOKEN=$(cat ../token)
	api_expect 201 POST /candidates --data "{\"candidate_id\":\"s1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	api_expect 201 POST /candidates/s1/artifacts/import --data-binary @../slow.json
	api_expect 201 POST /candidates/s1/manifest
	api_expect 202 POST /candidates/s1/compliance-runs --data "{\"manifest_id\":\"man-001\"}"
	run=$(jq -r .run_id "$TRASH/.api-out")
	i=0; until [ "$(run_field $run status)" = RUNNING ]; do i=$((i + 1)); test $i -lt 100; sleep 0.05; done
	serve_stop TERM
	grep "clean-release serve: stopped" "$TRASH/serve.log"
	i=0; until [ "$(run_field $run status)" = SUCCEEDED ]; do i=$((i + 1)); test $i -lt 200; sleep 0.05; done
	test "$(run_field $run final_status)" = ERROR
	test_exit 0 clean-release verify
'

test_expect_success 'kill -9 of the server during a run: the run still ends; verify clean' '
	cd repo
	CR_TEST_WORKER_HANG=dist/hang.txt serve_start --tokens ../tokens
	export TOKEN=$(cat ../token)
	api_expect 201 POST /candidates --data "{\"candidate_id\":\"s2\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	api_expect 201 POST /candidates/s2/artifacts/import --data-binary @../slow.json
	api_expect 201 POST /candidates/s2/manifest
	mid=$(jq -r .manifest_id "$TRASH/.api-out")
	api_expect 202 POST /candidates/s2/compliance-runs --data "{\"manifest_id\":\"$mid\"}"
	run=$(jq -r .run_id "$TRASH/.api-out")
	i=0; until [ "$(run_field $run status)" = RUNNING ]; do i=$((i + 1)); test $i -lt 100; sleep 0.05; done
	serve_stop KILL
	i=0; until [ "$(run_field $run status)" = SUCCEEDED ]; do i=$((i + 1)); test $i -lt 200; sleep 0.05; done
	test_exit 0 clean-release verify
'

test_expect_success 'every answer above is the contract response for its path, method and status' '
	api_validate_all
'
