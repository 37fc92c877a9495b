#!/bin/sh
# t52-ci: clean-release ci on tag pushes, as a CI runner would run it: a
# fresh clone of a real server with the gate, the rc tag checked end to end,
# the re-run, a blocked set, a job killed half way, the release tag
# published; SARIF validated by sarif-multitool; the contrib/ci jobs' own
# command lines run as they are.
. "$(dirname "$0")/lib.sh"

# runner NAME — a fresh clone of the server, as a CI job gets one.
runner='runner() {
	rm -rf "$TRASH/$1"
	git clone -q "$TRASH/server.git" "$TRASH/$1"
	cd "$TRASH/$1"
	git config user.email ci@example.org
}'
# sarif_valid FILE — sarif-multitool validates FILE without an error.
sarif_valid='sarif_valid() {
	sarif-multitool validate "$1" >"$TRASH/.sarif.out" 2>&1 || { cat "$TRASH/.sarif.out" >&2; return 1; }
	if grep -E ": error [A-Z]+[0-9]+:" "$TRASH/.sarif.out" >&2; then return 1; fi
	grep -q "Analysis completed successfully" "$TRASH/.sarif.out"
}'
export runner sarif_valid

test_expect_success 'setup: a server with the gate; a developer clone pushes the policy, an app and its rc tag' '
	command -v sarif-multitool >/dev/null
	git init -q --bare server.git
	(cd server.git && clean-release -q hook install --server)
	git clone -q server.git dev 2>/dev/null
	cd dev
	git config user.email dev@example.org
	mkdir -p dist && printf "console.log(\"hi\");\n" >dist/app.js && printf "ok\n" >dist/readme.txt
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\",\"source\":\"build:ci/1\"},{\"path\":\"dist/readme.txt\",\"source\":\"build:ci/1\"}]}\n" >artifacts.json
	git add . && git commit -q -m app
	write_policy ..
	clean-release -q policy publish --policy ../policy.json --registry ../registry.json --actor release-owner@example.org
	clean-release -q push
	git tag v1.2.0-rc1
	git push -q origin HEAD:refs/heads/master v1.2.0-rc1
'

test_expect_success 'ci on the rc tag in a fresh runner: registers, imports, builds, runs, pushes; exit 0; SARIF valid' '
	eval "$runner"
	runner job1
	clean-release ci --tag refs/tags/v1.2.0-rc1 --input artifacts.json --sarif ../job1.sarif >../job1.out 2>../job1.err
	grep "^registered v1.2.0-rc1 (1.2.0-rc1) at " ../job1.out
	grep "^imported imp-001: 2 artifacts" ../job1.out
	grep "^built man-001: 2 artifacts" ../job1.out
	grep "^ran run-001 on man-001: PASSED, report rpt-001" ../job1.out
	grep "^rpt-001 PASSED" ../job1.out
	grep "^in sync with origin" ../job1.out
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$(git rev-parse refs/clean-release/ledger)"
	clean-release -C ../server.git verify >/dev/null
	test "$(clean-release -C ../server.git --json candidate show --candidate-id v1.2.0-rc1 | jq -r .status)" = CHECK_PASSED
	eval "$sarif_valid"
	sarif_valid ../job1.sarif
	test "$(jq ".runs[0].results | length" ../job1.sarif)" = 0
	test "$(jq -r ".runs[0].properties.final_status" ../job1.sarif)" = PASSED
'

test_expect_success 'ci again for the same tag (a retried job, another fresh runner) resumes: no second candidate, exit 0' '
	eval "$runner"
	runner job2
	before=$(git -C ../server.git rev-parse refs/clean-release/ledger)
	clean-release --json ci --tag v1.2.0-rc1 --input artifacts.json >../job2.json
	jq -e ".candidate.candidate_id == \"v1.2.0-rc1\" and .candidate.status == \"CHECK_PASSED\" and .report.final_status == \"PASSED\" and .pushed" ../job2.json >/dev/null
	jq .candidate ../job2.json >../job2-candidate.json
	validate_openapi Candidate ../job2-candidate.json
	jq .report ../job2.json >../job2-report.json
	validate_openapi Report ../job2-report.json
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$before"
	test "$(clean-release -C ../server.git candidate list --json | jq ".candidates | length")" = 1
'

test_expect_success 'a blocked artifact set: exit 1, the evidence pushed, SARIF with levels, lines and the secret masked' '
	cd dev
	mkdir -p dist/tests
	printf "fixture\n" >dist/tests/data.txt
	printf "line one\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsupersecretkeymaterial\n" >dist/key.pem
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\",\"source\":\"build:ci/1\"},{\"path\":\"dist/tests/data.txt\",\"source\":\"build:ci/1\"},{\"path\":\"dist/key.pem\",\"source\":\"build:ci/1\"}]}\n" >artifacts.json
	git add . && git commit -q -m "bad set" && git tag v1.3.0-rc1 && git push -q origin HEAD:refs/heads/master v1.3.0-rc1
	eval "$runner"
	runner job3
	test_exit 1 clean-release ci --tag refs/tags/v1.3.0-rc1 --input artifacts.json --sarif ../job3.sarif
	grep "BLOCKED" "$TRASH/.cr-out"
	test "$(clean-release -C ../server.git --json candidate show --candidate-id v1.3.0-rc1 | jq -r .status)" = CHECK_BLOCKED
	eval "$sarif_valid"
	sarif_valid ../job3.sarif
	jq -e "[.runs[0].results[].level] | unique == [\"error\"]" ../job3.sarif >/dev/null
	jq -e "[.runs[0].results[].ruleId] | sort == [\"no-private-key\", \"no-test-data\"]" ../job3.sarif >/dev/null
	jq -e ".runs[0].results[] | select(.ruleId == \"no-private-key\") | .locations[0].physicalLocation | .artifactLocation.uri == \"dist/key.pem\" and .region.startLine == 2 and .region.startColumn == 1" ../job3.sarif >/dev/null
	test_must_fail grep -F "BEGIN RSA PRIVATE KEY" ../job3.sarif
	jq -e "[.runs[0].tool.driver.rules[].id] | sort == [\"no-private-key\", \"no-test-data\"]" ../job3.sarif >/dev/null
	test "$(jq ".runs[0].properties.violations_total" ../job3.sarif)" = 2
'

test_expect_success 'a job killed after the import: the next job resumes from PREPARED and only builds and runs' '
	cd dev
	git tag v1.4.0-rc1 HEAD~1 && git push -q origin v1.4.0-rc1
	eval "$runner"
	runner job4
	git checkout -q v1.4.0-rc1
	clean-release -q fetch
	clean-release -q candidate register --candidate-id v1.4.0-rc1 --version 1.4.0-rc1 --source-snapshot v1.4.0-rc1 --actor ci@example.org
	clean-release -q candidate import-artifacts --candidate-id v1.4.0-rc1 --input artifacts.json --actor ci@example.org
	clean-release -q push
	runner job5
	git checkout -q v1.4.0-rc1
	clean-release ci --tag v1.4.0-rc1 --input artifacts.json >../job5.out
	grep "^resuming v1.4.0-rc1: PREPARED" ../job5.out
	test_must_fail grep "^registered\|^imported" ../job5.out
	grep "^built man-" ../job5.out
	test "$(clean-release -C ../server.git --json candidate show --candidate-id v1.4.0-rc1 | jq -r .status)" = CHECK_PASSED
	clean-release -C ../server.git verify >/dev/null
'

test_expect_success 'the release tag: refused by the gate until approved; then ci --publish publishes; again: published already' '
	cd dev
	clean-release -q fetch
	git tag v1.2.0 v1.2.0-rc1
	test_exit 1 git push origin v1.2.0
	grep "no APPROVED or PUBLISHED candidate (.*v1.2.0-rc1 is CHECK_PASSED" "$TRASH/.cr-err"
	clean-release -q release approve --candidate-id v1.2.0-rc1 --report-id rpt-001 --actor approver@example.org
	clean-release -q push
	git push -q origin v1.2.0
	eval "$runner"
	runner job6
	clean-release ci --tag refs/tags/v1.2.0 --publish --channel stable >../job6.out
	grep "^published v1.2.0-rc1 to stable as v1.2.0 (pub-001)" ../job6.out
	test "$(clean-release -C ../server.git --json candidate show --candidate-id v1.2.0-rc1 | jq -r .status)" = PUBLISHED
	runner job7
	clean-release ci --tag refs/tags/v1.2.0 --publish --channel stable >../job7.out
	grep "is PUBLISHED already (pub-001)" ../job7.out
	test_exit 2 clean-release ci --tag v1.2.0 --input artifacts.json
	grep "is a release tag" "$TRASH/.cr-err"
	git tag v9.9.9 v1.3.0-rc1
	test_exit 3 clean-release ci --tag v9.9.9 --publish --channel stable --no-push
	grep "source commit of no APPROVED candidate (v1.3.0-rc1 is CHECK_BLOCKED)" "$TRASH/.cr-err"
	test_exit 2 clean-release ci --tag v404 --input artifacts.json --no-push
	grep "tag refs/tags/v404 does not exist" "$TRASH/.cr-err"
'

test_expect_success 'SARIF within code scanning limits: 30,001 findings give 25,000 results, every BLOCKER first, the rest counted' '
	cd dev
	jq ".version = 2 | .rules += [{\"id\": \"todo\", \"stage\": \"DATA_PURITY\", \"severity\": \"WARNING\", \"description\": \"no TODO\", \"content_pattern\": \"TODO\", \"secret\": false}]" ../policy.json >../policy2.json
	clean-release -q fetch
	clean-release -q policy publish --policy ../policy2.json --registry ../registry.json --actor release-owner@example.org
	clean-release -q push
	rm -rf dist && mkdir -p dist/big dist/tests
	i=0; while [ $i -lt 30 ]; do yes "TODO fix" | head -n 1000 >dist/big/f$i.txt; i=$((i + 1)); done
	printf "x\n" >dist/tests/t.txt
	(cd dist && find big tests -type f | sort | sed "s|^|dist/|") | sed "s/ .*//" | while read -r p; do echo "$p build:ci/1"; done | artifacts_doc >artifacts.json
	git add -A . && git commit -q -m big && git tag v2.0.0-rc1 && git push -q origin HEAD:refs/heads/master v2.0.0-rc1
	eval "$runner"
	runner job8
	test_exit 1 clean-release ci --tag v2.0.0-rc1 --input artifacts.json --sarif ../big.sarif --jobs 2
	grep "25000 results (the most severe)" "$TRASH/.cr-out"
	grep "5001 less severe results left out" "$TRASH/.cr-out"
	test "$(jq ".runs[0].results | length" ../big.sarif)" = 25000
	test "$(jq -r ".runs[0].results[0].level" ../big.sarif)" = error
	test "$(jq ".runs[0].properties.results_left_out" ../big.sarif)" = 5001
	test "$(jq ".runs[0].properties.violations_total" ../big.sarif)" = 30001
	eval "$sarif_valid"
	sarif_valid ../big.sarif
'

test_expect_success 'the contrib/ci jobs parse, and their clean-release step runs the ci command above as it is' '
	cd dev
	git checkout -q v1.2.0-rc1 -- artifacts.json dist 2>/dev/null || true
	/usr/bin/python3 "$CR_TESTS_DIR/ci_yaml.py" github "$CR_TESTS_DIR/../../contrib/ci/github-actions.yml" >../gh.sh
	/usr/bin/python3 "$CR_TESTS_DIR/ci_yaml.py" gitlab "$CR_TESTS_DIR/../../contrib/ci/gitlab-ci.yml" >../gl.sh
	grep "git clean-release ci --tag" ../gh.sh
	grep "git clean-release ci --tag" ../gl.sh
	git -C . tag v3.0.0-rc1 v1.2.0-rc1^{commit} 2>/dev/null || git tag v3.0.0-rc1 v1.2.0-rc1
	git tag v3.1.0-rc1 v1.2.0-rc1
	git push -q origin v3.0.0-rc1 v3.1.0-rc1
	eval "$runner"
	runner gh
	git checkout -q v3.0.0-rc1
	mkdir -p "$TRASH/gh-home"
	HOME=$TRASH/gh-home GITHUB_REF=refs/tags/v3.0.0-rc1 GITHUB_ACTOR=octocat sh -e ../gh.sh
	jq -e ".candidate.candidate_id == \"v3.0.0-rc1\" and .report.final_status == \"PASSED\" and .pushed" clean-release-report.json >/dev/null
	eval "$sarif_valid"
	sarif_valid clean-release.sarif
	test "$(clean-release -C ../server.git --json audit log --candidate-id v3.0.0-rc1 | jq -r ".events[0].actor")" = github-actions:octocat
	runner gl
	git checkout -q v3.1.0-rc1
	CI_COMMIT_TAG=v3.1.0-rc1 GITLAB_USER_LOGIN=tanuki sh -e ../gl.sh
	jq -e ".candidate.candidate_id == \"v3.1.0-rc1\" and .report.final_status == \"PASSED\"" clean-release-report.json >/dev/null
	sarif_valid gl-clean-release.sarif
	test "$(clean-release -C ../server.git --json audit log --candidate-id v3.1.0-rc1 | jq -r ".events[0].actor")" = gitlab-ci:tanuki
	clean-release -C ../server.git verify >/dev/null
'
