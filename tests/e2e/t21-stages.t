#!/bin/sh
# t21-stages: a corpus with one planted violation (or more) per stage; each
# stage finds exactly its own, with the right rule, artifact and location;
# filters, counts and the BLOCKED exit agree; a WARNING-only corpus passes;
# and no secret of the corpus is ever stored or printed in clear.
. "$(dirname "$0")/lib.sh"

# stars N — N asterisks.
stars='stars() { printf "%*s" "$1" "" | tr " " "*"; }'

test_expect_success 'setup: the acme policy, a blocked corpus with fresh fake secrets, manifest man-001' '
	new_repo repo
	cd repo
	publish_acme_policy
	pem_body=$(head -c 30 /dev/urandom | base64)
	akid=AKIA$(head -c 2000 /dev/urandom | tr -dc A-Z0-9 | head -c 16)
	test ${#pem_body} = 40
	test ${#akid} = 20
	echo "$pem_body" >../secret-pem-body
	echo "$akid" >../secret-akid
	mkdir -p art/dist/tests art/dist/conf art/dist/vendor art/dist/lib
	printf "console.log(\"orders\");\n" >art/dist/app.js
	printf "{\"orders\": []}\n" >art/dist/tests/fixture-orders.json
	printf "# TLS material of the staging proxy\n# do not ship\n-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" \
		"$pem_body" >art/dist/conf/server.pem
	printf "[aws]\nregion = eu-west-1\naws_access_key_id = %s\n# XXX-DEBUG remove before release\n" \
		"$akid" >art/dist/conf/settings.ini
	printf "no provenance\n" >art/dist/nosource.txt
	printf "module.exports = leftPad;\n" >art/dist/vendor/left-pad.js
	printf "module.exports = shady;\n" >art/dist/vendor/lookalike.js
	cat >art/dist/endpoints.conf <<-\EOF
	# service endpoints
	orders = https://orders.svc.acme.internal/v1
	nexus = https://nexus.acme.internal/repository/raw/
	telemetry = https://collector.evil-analytics.example/track
	health = https://svc.acme.internal/health
	shadow = https://evilsvc.acme.internal/
	EOF
	printf "release build 0001\n" >art/dist/lib/same-size.bin
	printf "v1\n" >art/dist/lib/resized.bin
	printf "to be deleted\n" >art/dist/lib/deleted.bin
	ci=build:acme-ci/orders/4821/package
	artifacts_doc >art/artifacts.json <<-EOF
	dist/app.js https://nexus.acme.internal/repository/npm/orders-1.2.0.tgz
	dist/tests/fixture-orders.json $ci
	dist/conf/server.pem $ci
	dist/conf/settings.ini $ci
	dist/nosource.txt -
	dist/vendor/left-pad.js https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz
	dist/vendor/lookalike.js https://nexus.acme.internal.evil.example/repository/npm/x.tgz
	dist/endpoints.conf $ci
	dist/lib/same-size.bin $ci
	dist/lib/resized.bin $ci
	dist/lib/deleted.bin $ci
	EOF
	validate_schema artifacts.schema.json art/artifacts.json
	test "$(make_candidate blocked art/artifacts.json)" = man-001
'

test_expect_success 'files changed or deleted after the manifest: compliance run exits 1, BLOCKED, every stage FAILED' '
	cd repo
	printf "release build 0002\n" >art/dist/lib/same-size.bin
	printf "v1 patched after the manifest was built\n" >art/dist/lib/resized.bin
	rm art/dist/lib/deleted.bin
	test_exit 1 clean-release compliance run --candidate-id blocked --manifest-id man-001 --actor release-bot --json
	cp "$TRASH/.cr-out" ../run.json
	validate_openapi ComplianceRun ../run.json
	jq -e ".run_id == \"run-001\" and .status == \"SUCCEEDED\" and .final_status == \"BLOCKED\"
	       and .report_id == \"rpt-001\" and .progress.artifacts_done == 11
	       and .progress.artifacts_total == 11" ../run.json >/dev/null
	test "$(candidate_status blocked)" = CHECK_BLOCKED
	clean-release compliance violations --run-id run-001 --json >../violations.json
	validate_openapi ViolationList ../violations.json
	jq -e ".run_id == \"run-001\" and .next_cursor == null and all(.violations[]; .run_id == \"run-001\")" ../violations.json >/dev/null
	clean-release compliance stages --run-id run-001 --json >../stages.json
	validate_openapi StageList ../stages.json
	test "$(jq -r "[.stages[].status] | join(\" \")" ../stages.json)" = "FAILED FAILED FAILED FAILED"
'

test_expect_success 'violation ids are run-001-v000001, -v000002, ... in append order' '
	n=$(jq ".violations | length" violations.json)
	test "$n" -gt 0
	jq -r ".violations[].violation_id" violations.json >ids
	i=1
	while [ $i -le "$n" ]; do printf "run-001-v%06d\n" $i; i=$((i + 1)); done >ids.expect
	test_cmp ids.expect ids
'

# The findings of STAGE as "rule severity path line:column", sorted.
findings='findings() { jq -r --arg s "$1" ".violations[] | select(.stage == \$s)
	| \"\(.rule_id) \(.severity) \(.artifact_path) \(if .location then \"\(.location.line):\(.location.column)\" else \"-\" end)\"" violations.json | sort; }'

test_expect_success 'DATA_PURITY: the tests/ path rule, the PEM header on line 3, the AWS key id, and a WARNING marker' '
	'"$findings"'
	findings DATA_PURITY >dp
	sort >dp.expect <<-\EOF
	no-test-data BLOCKER dist/tests/fixture-orders.json -
	no-private-key BLOCKER dist/conf/server.pem 3:1
	no-aws-access-key BLOCKER dist/conf/settings.ini 3:21
	debug-marker WARNING dist/conf/settings.ini 4:3
	EOF
	test_cmp dp.expect dp
	pem_off=$(grep -bo -- "-----BEGIN" repo/art/dist/conf/server.pem | cut -d: -f1)
	test "$(jq ".violations[] | select(.rule_id == \"no-private-key\") | .location.offset" violations.json)" = "$pem_off"
	key_off=$(grep -bo AKIA repo/art/dist/conf/settings.ini | cut -d: -f1)
	test "$(jq ".violations[] | select(.rule_id == \"no-aws-access-key\") | .location.offset" violations.json)" = "$key_off"
	test "$(jq ".violations[] | select(.rule_id == \"no-test-data\") | has(\"location\") or has(\"excerpt\")" violations.json)" = false
'

test_expect_success 'INTERNAL_SOURCES_ONLY: no source is builtin:source-missing, a foreign or look-alike source builtin:source-not-allowed' '
	'"$findings"'
	findings INTERNAL_SOURCES_ONLY >iso
	sort >iso.expect <<-\EOF
	builtin:source-missing BLOCKER dist/nosource.txt -
	builtin:source-not-allowed BLOCKER dist/vendor/left-pad.js -
	builtin:source-not-allowed BLOCKER dist/vendor/lookalike.js -
	EOF
	test_cmp iso.expect iso
'

test_expect_success 'NO_EXTERNAL_ENDPOINTS: a disallowed host on line 4; *.svc.acme.internal allows a subdomain, not the bare suffix nor a look-alike' '
	'"$findings"'
	findings NO_EXTERNAL_ENDPOINTS >nee
	sort >nee.expect <<-\EOF
	external-url BLOCKER dist/endpoints.conf 4:13
	external-url BLOCKER dist/endpoints.conf 5:10
	external-url BLOCKER dist/endpoints.conf 6:10
	EOF
	test_cmp nee.expect nee
	off=$(grep -bo "https://collector" repo/art/dist/endpoints.conf | cut -d: -f1)
	jq -e --argjson off "$off" ".violations[] | select(.stage == \"NO_EXTERNAL_ENDPOINTS\" and .location.line == 4)
	       | .location.offset == \$off and .excerpt == \"telemetry = https://collector.evil-analytics.example/track\"
	         and (.message | contains(\"collector.evil-analytics.example\"))" violations.json >/dev/null
	jq -e ".violations[] | select(.stage == \"NO_EXTERNAL_ENDPOINTS\" and .location.line == 5)
	       | .message | contains(\"svc.acme.internal\")" violations.json >/dev/null
'

test_expect_success 'MANIFEST_CONSISTENCY: changed content is builtin:sha256-mismatch, a changed size builtin:size-mismatch, a deleted file builtin:artifact-missing' '
	'"$findings"'
	# resized.bin may also be reported as a sha256 mismatch: both are true.
	findings MANIFEST_CONSISTENCY | grep -v "^builtin:sha256-mismatch BLOCKER dist/lib/resized.bin -$" >mc
	sort >mc.expect <<-\EOF
	builtin:sha256-mismatch BLOCKER dist/lib/same-size.bin -
	builtin:size-mismatch BLOCKER dist/lib/resized.bin -
	builtin:artifact-missing BLOCKER dist/lib/deleted.bin -
	EOF
	test_cmp mc.expect mc
	jq -e --arg sha "$(sha256_of repo/art/dist/lib/same-size.bin)" ".violations[]
	       | select(.rule_id == \"builtin:sha256-mismatch\" and .artifact_path == \"dist/lib/same-size.bin\")
	       | .message | contains(\$sha)" violations.json >/dev/null
'

test_expect_success 'no other finding: the clean artifact and the allowed hosts give nothing' '
	test "$(jq "[.violations[] | select(.artifact_path == \"dist/app.js\")] | length" violations.json)" = 0
	test "$(jq "[.violations[] | select(.location.line == 2 or .location.line == 3)
	        | select(.artifact_path == \"dist/endpoints.conf\")] | length" violations.json)" = 0
	total=$(jq ".violations | length" violations.json)
	test "$total" = 13 || test "$total" = 14
'

test_expect_success 'compliance violations --stage S --severity SEV --json returns exactly the matching violations, as a ViolationList' '
	cd repo
	for s in DATA_PURITY INTERNAL_SOURCES_ONLY NO_EXTERNAL_ENDPOINTS MANIFEST_CONSISTENCY; do
		for sev in BLOCKER WARNING; do
			clean-release compliance violations --run-id run-001 --stage $s --severity $sev --json >../f.json
			test $sev = WARNING || validate_openapi ViolationList ../f.json
			jq -c "[.violations[] | select(.stage == \"$s\" and .severity == \"$sev\")]" ../violations.json >../f.expect
			jq -c .violations ../f.json >../f.got
			test_cmp ../f.expect ../f.got
		done
		clean-release compliance violations --run-id run-001 --stage $s --json >../f.json
		jq -c "[.violations[] | select(.stage == \"$s\")]" ../violations.json >../f.expect
		jq -c .violations ../f.json >../f.got
		test_cmp ../f.expect ../f.got
	done
	clean-release compliance violations --run-id run-001 --severity WARNING --json >../w.json
	validate_openapi ViolationList ../w.json
	test "$(jq -r "[.violations[].rule_id] | join(\" \")" ../w.json)" = debug-marker
	test "$(jq ".violations | length" ../w.json)" = 1
	test_refuses 2 clean-release compliance violations --run-id run-001 --stage DATA-PURITY
	test_refuses 2 clean-release compliance violations --run-id run-001 --severity CRITICAL
'

test_expect_success 'the report counts violations by stage and severity as the violations list has them; compliance report exits 1' '
	cd repo
	test_exit 1 clean-release compliance report --run-id run-001 --json
	cp "$TRASH/.cr-out" ../report.json
	validate_openapi Report ../report.json
	validate_schema report.schema.json ../report.json
	report_digest_ok ../report.json
	jq -S "{total: (.violations | length),
	        blocker: ([.violations[] | select(.severity == \"BLOCKER\")] | length),
	        warning: ([.violations[] | select(.severity == \"WARNING\")] | length),
	        by_stage: (reduce (\"DATA_PURITY\", \"INTERNAL_SOURCES_ONLY\", \"NO_EXTERNAL_ENDPOINTS\", \"MANIFEST_CONSISTENCY\") as \$s
	                   ({}; .[\$s] = ([\$v[] | select(.stage == \$s)] | length)))}" \
	   --argjson v "$(jq .violations ../violations.json)" ../violations.json >../counts.expect
	jq -S .violation_counts ../report.json >../counts.got
	test_cmp ../counts.expect ../counts.got
	jq -c "[.stages[] | [.stage, .status, .violation_count]]" ../report.json >../stage-counts.got
	jq -c "[\"DATA_PURITY\", \"INTERNAL_SOURCES_ONLY\", \"NO_EXTERNAL_ENDPOINTS\", \"MANIFEST_CONSISTENCY\"] as \$order
	       | .violations as \$v | [\$order[] as \$s | [\$s, \"FAILED\", ([\$v[] | select(.stage == \$s)] | length)]]" \
	   ../violations.json >../stage-counts.expect
	test_cmp ../stage-counts.expect ../stage-counts.got
	test "$(json_get ../report.json final_status)" = BLOCKED
'

test_expect_success 'the excerpts of secret rules are masked after the first 4 bytes of the match; others are in clear' '
	'"$stars"'
	printf "%s\n" "----$(stars 27)" >pem.expect
	jq -r ".violations[] | select(.rule_id == \"no-private-key\") | .excerpt" violations.json >pem.got
	test_cmp pem.expect pem.got
	printf "%s\n" "aws_access_key_id = AKIA$(stars 16)" >akid.expect
	jq -r ".violations[] | select(.rule_id == \"no-aws-access-key\") | .excerpt" violations.json >akid.got
	test_cmp akid.expect akid.got
	printf "%s\n" "# XXX-DEBUG remove before release" >debug.expect
	jq -r ".violations[] | select(.rule_id == \"debug-marker\") | .excerpt" violations.json >debug.got
	test_cmp debug.expect debug.got
'

test_expect_success 'a WARNING-only corpus passes: exit 0, PASSED, the warnings counted, the password masked' '
	cd repo
	pw=$(head -c 2000 /dev/urandom | tr -dc A-Za-z0-9 | head -c 24)
	test ${#pw} = 24
	echo "$pw" >../secret-password
	mkdir -p warn/dist/conf
	printf "export function main() {}\n// XXX-DEBUG trace every order\n" >warn/dist/main.js
	printf "db.url = jdbc:postgresql://db.svc.acme.internal/orders\ndb.password = \"%s\"\n" "$pw" >warn/dist/conf/db.properties
	artifacts_doc >warn/artifacts.json <<-\EOF
	dist/main.js build:acme-ci/orders/4821/package
	dist/conf/db.properties build:acme-ci/orders/4821/package
	EOF
	test "$(make_candidate warn-only warn/artifacts.json)" = man-002
	test_exit 0 clean-release compliance run --candidate-id warn-only --manifest-id man-002 --actor release-bot --json
	cp "$TRASH/.cr-out" ../warn-run.json
	validate_openapi ComplianceRun ../warn-run.json
	test "$(json_get ../warn-run.json final_status)" = PASSED
	test "$(candidate_status warn-only)" = CHECK_PASSED
	rid=$(json_get ../warn-run.json run_id)
	clean-release compliance report --run-id "$rid" --json >../warn-report.json
	validate_openapi Report ../warn-report.json
	jq -e ".final_status == \"PASSED\" and .violation_counts.total == 2 and .violation_counts.warning == 2
	       and .violation_counts.blocker == 0 and .violation_counts.by_stage.DATA_PURITY == 2
	       and .stages[0].status == \"PASSED\" and .stages[0].violation_count == 2
	       and ([.stages[].status] | all(. == \"PASSED\"))" ../warn-report.json >/dev/null
	clean-release compliance violations --run-id "$rid" --json >../warn-violations.json
	validate_openapi ViolationList ../warn-violations.json
	jq -r ".violations[] | \"\(.rule_id) \(.severity) \(.artifact_path) \(.location.line):\(.location.column)\"" \
		../warn-violations.json | sort >../warn.got
	sort >../warn.expect <<-\EOF
	debug-marker WARNING dist/main.js 2:4
	password-assignment WARNING dist/conf/db.properties 2:4
	EOF
	test_cmp ../warn.expect ../warn.got
	'"$stars"'
	match="password = \"$pw\""
	printf "%s\n" "db.pass$(stars $((${#match} - 4)))" >../pw.expect
	jq -r ".violations[] | select(.rule_id == \"password-assignment\") | .excerpt" ../warn-violations.json >../pw.got
	test_cmp ../pw.expect ../pw.got
'

test_expect_success 'no secret of the corpus is anywhere in the repository objects, the task state or any output' '
	cd repo
	git cat-file --batch-all-objects --batch >../all-objects
	test "$(git cat-file --batch-all-objects --batch-check | wc -l)" -gt 20
	{
		clean-release compliance violations --run-id run-001
		clean-release compliance violations --run-id run-001 --json
		clean-release compliance violations --run-id run-002
		clean-release compliance violations --run-id run-002 --json
		clean-release compliance violations --run-id run-001 --stage DATA_PURITY --severity BLOCKER --json
		clean-release compliance stages --run-id run-001 --json
		clean-release compliance status --run-id run-001 --json
		clean-release audit log --json
		clean-release compliance report --run-id run-001 --json || :
		clean-release compliance report --run-id run-002 --json
	} >../all-output 2>&1
	grep -q "AKIA\*\{16\}" ../all-output
	grep -q "^    ----\*\{27\}$" ../all-output
	akid=$(cat ../secret-akid)
	for secret in "$(cat ../secret-pem-body)" "$akid" "${akid#AKIA}" "$(cat ../secret-password)"; do
		for f in ../all-objects ../all-output; do
			if grep -F -- "$secret" $f; then
				echo "secret $secret found in $f" >&2
				exit 1
			fi
		done
		if grep -rlF -- "$secret" .git; then
			echo "secret $secret found under .git" >&2
			exit 1
		fi
	done
'

test_expect_success 'a detached run whose artifact root is gone: each artifact builtin:artifact-missing, naming why the root cannot be opened' '
	new_repo gone
	cd gone
	mkdir -p ../gone-art/dist
	printf "x\n" >../gone-art/dist/a.txt
	printf "y\n" >../gone-art/dist/b.txt
	printf "{\"artifacts\":[{\"path\":\"dist/a.txt\",\"source\":\"demo:builds/t21\"},{\"path\":\"dist/b.txt\",\"source\":\"demo:builds/t21\"}]}\n" >../gone-art/artifacts.json
	clean-release --demo -q candidate register --candidate-id g1 --version 1 --source-snapshot v1.2.0-rc1 --actor a
	clean-release --demo -q candidate import-artifacts --candidate-id g1 --input ../gone-art/artifacts.json --actor a
	clean-release --demo -q manifest build --candidate-id g1 --actor a
	rm -rf ../gone-art
	run=$(clean-release --demo --json compliance run --candidate-id g1 --manifest-id man-001 --actor a --detach | jq -r .run_id)
	end=$(( $(date +%s) + 30 ))
	until [ "$(clean-release --demo --json compliance status --run-id $run | jq -r .status)" = SUCCEEDED ]; do
		test "$(date +%s)" -lt $end
		sleep 0.1
	done
	clean-release --demo --json compliance violations --run-id $run >v.json
	test "$(jq "[.violations[] | select(.rule_id == \"builtin:artifact-missing\")] | length" v.json)" = 2
	jq -e ".violations[0].message | test(\"artifact root .*gone-art cannot be opened: No such file or directory\")" v.json
	test "$(clean-release --demo --json compliance status --run-id $run | jq -r .final_status)" = BLOCKED
'
