#!/bin/sh
# t10-candidate: the quickstart's register → import → manifest flow, verbatim,
# with every --json document checked against the OpenAPI contract.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a repository tagged v1.2.0-rc1 with real artifacts and artifacts.json next to them' '
	new_repo repo
	cd repo
	mkdir -p dist/config dist/lib "dist/données"
	printf "console.log(\"hello\");\n" >dist/app.js
	printf "{\"port\":8080}\n" >dist/config/default.json
	yes "libacme core, not really a shared object" | head -c 16384 >dist/lib/libacme-core.so
	printf "Zeta sorts before app in byte order\n" >dist/Zeta.txt
	printf "lisez-moi\n" >"dist/données/lisez-moi.txt"
	so_sha=$(sha256_of dist/lib/libacme-core.so)
	zeta_sha=$(sha256_of dist/Zeta.txt)
	cfg_size=$(size_of dist/config/default.json)
	cat >artifacts.json <<-EOF
	{
	  "artifacts": [
	    {"path": "dist/app.js", "source": "https://nexus.example.internal/repository/npm/app-1.2.0.tgz",
	     "kind": "script", "media_type": "text/javascript"},
	    {"path": "dist/lib/libacme-core.so", "sha256": "$so_sha", "size": 16384,
	     "source": "build:ci/pipelines/48213/build-linux-amd64", "kind": "library",
	     "media_type": "application/octet-stream"},
	    {"path": "dist/config/default.json", "size": $cfg_size,
	     "media_type": "application/json; charset=\"utf-8\""},
	    {"path": "dist/données/lisez-moi.txt", "source": "build:ci/docs/fr"},
	    {"path": "dist/Zeta.txt", "sha256": "$zeta_sha"}
	  ]
	}
	EOF
	validate_schema artifacts.schema.json artifacts.json
	git rev-parse "v1.2.0-rc1^{commit}" >../source-commit
'

test_expect_success 'quickstart candidate register prints the DRAFT line with the resolved commit' '
	cd repo
	clean-release candidate register \
	  --candidate-id 2026.03.09-rc1 \
	  --version 1.2.0 \
	  --source-snapshot v1.2.0-rc1 \
	  --actor release-bot >../register.out
	printf "registered 2026.03.09-rc1 (1.2.0) at %s… — DRAFT\n" "$(git rev-parse --short=7 v1.2.0-rc1)" >../register.expect
	test_cmp ../register.expect ../register.out
'

test_expect_success 'candidate show --json is a valid Candidate in DRAFT with what register was given' '
	cd repo
	clean-release candidate show --candidate-id 2026.03.09-rc1 --json >../show-draft.json
	validate_openapi Candidate ../show-draft.json
	test "$(json_get ../show-draft.json candidate_id)" = 2026.03.09-rc1
	test "$(json_get ../show-draft.json version)" = 1.2.0
	test "$(json_get ../show-draft.json source_snapshot)" = v1.2.0-rc1
	test "$(json_get ../show-draft.json source_commit)" = "$(cat ../source-commit)"
	test "$(json_get ../show-draft.json created_by)" = release-bot
	test "$(json_get ../show-draft.json status)" = DRAFT
	test "$(json_get ../show-draft.json latest_import_id)" = null
	test "$(json_get ../show-draft.json latest_manifest_id)" = null
'

test_expect_success 'candidate register --json prints a valid Candidate equal to candidate show --json' '
	cd repo
	clean-release --json candidate register --candidate-id 2026.03.09-rc2 --version 1.2.1 \
	  --source-snapshot v1.2.0-rc1 --actor release-bot >../register-rc2.json
	validate_openapi Candidate ../register-rc2.json
	test "$(json_get ../register-rc2.json status)" = DRAFT
	test "$(json_get ../register-rc2.json source_commit)" = "$(cat ../source-commit)"
	clean-release candidate show --candidate-id 2026.03.09-rc2 --json >../show-rc2.json
	canon same ../register-rc2.json ../show-rc2.json
'

test_expect_success 'quickstart candidate import-artifacts reads artifacts.json from the current directory: PREPARED' '
	cd repo
	clean-release candidate import-artifacts \
	  --candidate-id 2026.03.09-rc1 \
	  --input artifacts.json \
	  --actor release-bot >../import.out
	total=$(cat dist/app.js dist/config/default.json dist/lib/libacme-core.so dist/Zeta.txt "dist/données/lisez-moi.txt" | wc -c | tr -d " ")
	printf "imp-001: 5 artifacts, %s bytes — PREPARED\n" "$total" >../import.expect
	test_cmp ../import.expect ../import.out
	clean-release candidate show --candidate-id 2026.03.09-rc1 --json >../show-prepared.json
	validate_openapi Candidate ../show-prepared.json
	test "$(json_get ../show-prepared.json status)" = PREPARED
	test "$(json_get ../show-prepared.json latest_import_id)" = imp-001
	test "$(json_get ../show-prepared.json latest_manifest_id)" = null
'

test_expect_success 'quickstart manifest build freezes the import as man-001: MANIFEST_BUILT' '
	cd repo
	clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot >../build1.out
	clean-release manifest show --manifest-id man-001 --json >../man-001.json
	validate_openapi Manifest ../man-001.json
	digest=$(json_get ../man-001.json manifest_digest)
	printf "man-001 (version 1): 5 artifacts, digest %.8s…\n" "$digest" >../build1.expect
	test_cmp ../build1.expect ../build1.out
	clean-release candidate show --candidate-id 2026.03.09-rc1 --json >../show-built.json
	validate_openapi Candidate ../show-built.json
	test "$(json_get ../show-built.json status)" = MANIFEST_BUILT
	test "$(json_get ../show-built.json latest_manifest_id)" = man-001
	test "$(json_get ../show-built.json latest_import_id)" = imp-001
'

test_expect_success 'the manifest records every file with its real sha256 and size, sorted by path in byte order' '
	cd repo
	canon expect artifacts.json >../expected-artifacts.json
	canon artifacts ../man-001.json >../manifest-artifacts.json
	test_cmp ../expected-artifacts.json ../manifest-artifacts.json
	jq -r ".artifacts[].path" ../man-001.json >../paths
	printf "%s\n" dist/Zeta.txt dist/app.js dist/config/default.json "dist/données/lisez-moi.txt" dist/lib/libacme-core.so >../paths.expect
	test_cmp ../paths.expect ../paths
	test "$(json_get ../man-001.json artifact_count)" = 5
	test "$(json_get ../man-001.json total_size)" = "$(jq "[.artifacts[].size] | add" ../man-001.json)"
	test "$(json_get ../man-001.json source_commit)" = "$(cat ../source-commit)"
	test "$(json_get ../man-001.json import_id)" = imp-001
	test "$(json_get ../man-001.json version)" = 1
	test "$(json_get ../man-001.json created_by)" = release-bot
'

test_expect_success 'manifest_digest recomputes independently from the files and from the manifest' '
	cd repo
	digest=$(json_get ../man-001.json manifest_digest)
	test "$(canon digest ../expected-artifacts.json)" = "$digest"
	test "$(canon digest ../man-001.json)" = "$digest"
'

test_expect_success 'a second manifest build gives man-002 (version 2) with the same manifest_digest' '
	cd repo
	clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot --json >../man-002.build.json
	validate_openapi Manifest ../man-002.build.json
	test "$(json_get ../man-002.build.json manifest_id)" = man-002
	test "$(json_get ../man-002.build.json version)" = 2
	test "$(json_get ../man-002.build.json manifest_digest)" = "$(json_get ../man-001.json manifest_digest)"
	clean-release manifest show --manifest-id man-002 --json >../man-002.json
	validate_openapi Manifest ../man-002.json
	canon same ../man-002.build.json ../man-002.json
	clean-release manifest show --manifest-id man-001 --json >../man-001.again.json
	test_cmp ../man-001.json ../man-001.again.json
	test "$(clean-release candidate show --candidate-id 2026.03.09-rc1 --json | jq -r .latest_manifest_id)" = man-002
'

test_expect_success 'candidate import-artifacts --json prints a valid Import (imp-002 for the second candidate)' '
	cd repo
	clean-release candidate import-artifacts --candidate-id 2026.03.09-rc2 --input artifacts.json \
	  --actor release-bot --json >../imp-002.json
	validate_openapi Import ../imp-002.json
	test "$(json_get ../imp-002.json import_id)" = imp-002
	test "$(json_get ../imp-002.json candidate_id)" = 2026.03.09-rc2
	test "$(json_get ../imp-002.json artifact_root)" = "$(pwd -P)"
	test "$(json_get ../imp-002.json artifact_count)" = 5
	canon sorted-artifacts ../imp-002.json >../imp-002.artifacts
	test_cmp ../expected-artifacts.json ../imp-002.artifacts
'

test_expect_success 'candidate list --json is a valid CandidateList and --status filters it' '
	cd repo
	clean-release candidate register --candidate-id 2026.03.09-rc3 --version 1.2.2 \
	  --source-snapshot v1.2.0-rc1 --actor release-bot -q
	clean-release candidate list --json >../list.json
	validate_openapi CandidateList ../list.json
	jq -r ".candidates[] | .candidate_id + \" \" + .status" ../list.json | sort >../list.txt
	printf "%s\n" "2026.03.09-rc1 MANIFEST_BUILT" "2026.03.09-rc2 PREPARED" "2026.03.09-rc3 DRAFT" >../list.expect
	test_cmp ../list.expect ../list.txt
	for st in DRAFT:2026.03.09-rc3 PREPARED:2026.03.09-rc2 MANIFEST_BUILT:2026.03.09-rc1 CHECK_PASSED:; do
		clean-release candidate list --status ${st%%:*} --json >../list-st.json
		validate_openapi CandidateList ../list-st.json
		test "$(jq -r "[.candidates[].candidate_id] | join(\",\")" ../list-st.json)" = "${st#*:}"
	done
	test_refuses 2 clean-release candidate list --status BOGUS
'

test_expect_success 'audit log --json is a valid AuditEventList with one ACCEPTED event per operation' '
	cd repo
	clean-release audit log --json >../audit.json
	validate_openapi AuditEventList ../audit.json
	jq -r ".events[] | [.event_id, .type, .candidate_id, .actor, .outcome] | join(\" \")" ../audit.json >../audit.txt
	cat >../audit.expect <<-EOF
	evt-001 candidate.register 2026.03.09-rc1 release-bot ACCEPTED
	evt-002 candidate.register 2026.03.09-rc2 release-bot ACCEPTED
	evt-003 candidate.import_artifacts 2026.03.09-rc1 release-bot ACCEPTED
	evt-004 manifest.build 2026.03.09-rc1 release-bot ACCEPTED
	evt-005 manifest.build 2026.03.09-rc1 release-bot ACCEPTED
	evt-006 candidate.import_artifacts 2026.03.09-rc2 release-bot ACCEPTED
	evt-007 candidate.register 2026.03.09-rc3 release-bot ACCEPTED
	EOF
	test_cmp ../audit.expect ../audit.txt
	clean-release audit log --candidate-id 2026.03.09-rc2 --json >../audit-rc2.json
	validate_openapi AuditEventList ../audit-rc2.json
	test "$(jq -r "[.events[].event_id] | join(\" \")" ../audit-rc2.json)" = "evt-002 evt-006"
'

test_expect_success 'policy publish and policy show --json are valid PolicyView documents' '
	cd repo
	write_policy ..
	clean-release policy publish --policy ../policy.json --registry ../registry.json --actor release-owner --json >../publish.json
	validate_openapi PolicyView ../publish.json
	clean-release policy show --json >../policy-view.json
	validate_openapi PolicyView ../policy-view.json
	canon same ../publish.json ../policy-view.json
	jq .policy ../policy-view.json >../pv-policy.json
	canon same ../policy.json ../pv-policy.json
	jq .registry ../policy-view.json >../pv-registry.json
	canon same ../registry.json ../pv-registry.json
	test "$(jq -r .namespace ../policy-view.json)" = real
	test "$(jq -r .policy_snapshot.policy_digest ../policy-view.json)" = "$(canon hash ../policy.json)"
	test "$(jq -r .registry_snapshot.registry_digest ../policy-view.json)" = "$(canon hash ../registry.json)"
	test "$(jq -r .policy_snapshot.resolved_from.ref ../policy-view.json)" = refs/clean-release/policy
	test "$(jq -r .policy_snapshot.resolved_from.commit ../policy-view.json)" = "$(git rev-parse refs/clean-release/policy)"
	git cat-file blob refs/clean-release/policy:policy.json >../stored-policy.json
	canon same ../policy.json ../stored-policy.json
	canon is-canonical ../stored-policy.json
	test "$(sha256_of ../stored-policy.json)" = "$(jq -r .policy_snapshot.policy_digest ../policy-view.json)"
'

test_expect_success 'git log --notes=clean-release shows every candidate of the source commit with its status and latest ids' '
	cd repo
	git log --notes=clean-release -1 --format=%N "$(cat ../source-commit)" >../note
	cat ../note
	grep "2026.03.09-rc1" ../note >../note-rc1
	test "$(wc -l <../note-rc1)" = 1
	grep -w MANIFEST_BUILT ../note-rc1
	grep -w imp-001 ../note-rc1
	grep -w man-002 ../note-rc1
	test_must_fail grep -w man-001 ../note-rc1
	grep "2026.03.09-rc2" ../note | grep -w PREPARED | grep -w imp-002
	grep "2026.03.09-rc3" ../note | grep -w DRAFT
'

test_expect_success 'without --actor the actor is git config user.email (records and ledger author)' '
	cd repo
	git config user.email dev@example.invalid
	clean-release candidate register --candidate-id by-config --version 1.0.0 --source-snapshot v1.2.0-rc1 --json >../by-config.json
	validate_openapi Candidate ../by-config.json
	test "$(json_get ../by-config.json created_by)" = dev@example.invalid
	test "$(git log -1 --format=%ae refs/clean-release/ledger)" = dev@example.invalid
	test "$(clean-release audit log --json | jq -r ".events[-1].actor")" = dev@example.invalid
	git config --unset user.email
'

test_expect_success 'with neither --actor nor user.email a state-changing command is refused (exit 2) and writes nothing' '
	cd repo
	test_must_be_unset=$(git config user.email || true)
	test -z "$test_must_be_unset"
	test_refuses 2 clean-release candidate register --candidate-id no-actor --version 1.0.0 --source-snapshot v1.2.0-rc1
	test_refuses 2 clean-release manifest build --candidate-id 2026.03.09-rc1
	test_refuses 2 clean-release candidate import-artifacts --candidate-id 2026.03.09-rc3 --input artifacts.json
	test_expect_code 4 clean-release candidate show --candidate-id no-actor 2>/dev/null
'

test_expect_success 'candidate show follows the whole flow on a fresh candidate: DRAFT → PREPARED → MANIFEST_BUILT' '
	cd repo
	for step in register import build; do
		case $step in
		register) clean-release candidate register --candidate-id flow --version 2.0.0 --source-snapshot HEAD --actor a -q; want=DRAFT ;;
		import) clean-release candidate import-artifacts --candidate-id flow --input artifacts.json --actor a -q; want=PREPARED ;;
		build) clean-release manifest build --candidate-id flow --actor a -q; want=MANIFEST_BUILT ;;
		esac
		test "$(clean-release candidate show --candidate-id flow --json | jq -r .status)" = $want
		test "$(clean-release candidate list --status $want --json | jq -r "[.candidates[] | select(.candidate_id == \"flow\")] | length")" = 1
	done
	clean-release candidate show --candidate-id flow --json >../flow.json
	test "$(json_get ../flow.json latest_import_id)" = imp-003
	test "$(json_get ../flow.json latest_manifest_id)" = man-003
'

test_expect_success 'a status note that fails does not fail the write, and the next write rebuilds its line' '
	new_repo notes
	cd notes
	git commit -q --allow-empty -m second
	clean-release -q candidate register --candidate-id n1 --version 1 --source-snapshot HEAD~1 --actor a
	# Something in the way of the notes ref: the note of n2 cannot be written.
	git update-ref -d refs/notes/clean-release
	mkdir -p .git/refs/notes/clean-release
	echo junk >.git/refs/notes/clean-release/blocker
	test_exit 0 clean-release candidate register --candidate-id n2 --version 1 --source-snapshot HEAD --actor a
	test "$(candidate_status n2)" = DRAFT
	rm -rf .git/refs/notes/clean-release
	clean-release -q candidate register --candidate-id n3 --version 1 --source-snapshot HEAD~1 --actor a
	git notes --ref=clean-release show HEAD >../n2.note
	grep "^n2: DRAFT version=1" ../n2.note
	git notes --ref=clean-release show HEAD~1 | grep "^n3: DRAFT"
'

test_expect_success 'git -c user.email and GIT_CONFIG_COUNT set the actor, above every config file, the last one winning' '
	new_repo gitc
	cd gitc
	git config user.email from-file@example.org
	reg() { clean-release candidate register --candidate-id "$1" --version 1 --source-snapshot HEAD --json | jq -r .created_by; }
	test "$(reg c1)" = from-file@example.org
	test "$(git -c user.email=from-dash-c@example.org clean-release candidate register --candidate-id c2 --version 1 --source-snapshot HEAD --json | jq -r .created_by)" = from-dash-c@example.org
	test "$(GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=user.email GIT_CONFIG_VALUE_0=from-count@example.org reg c3)" = from-count@example.org
	test "$(GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=user.email GIT_CONFIG_VALUE_0=from-count@example.org git -c User.Email=dash-c-wins@example.org clean-release candidate register --candidate-id c4 --version 1 --source-snapshot HEAD --json | jq -r .created_by)" = dash-c-wins@example.org
	test "$(git -c user.email=first@x -c "user.email=it'"'"'s !last@x" clean-release candidate register --candidate-id c5 --version 1 --source-snapshot HEAD --json | jq -r .created_by)" = "it'"'"'s !last@x"
	git log -1 --format=%ae refs/clean-release/ledger | grep -x "it'"'"'s !last@x"
	# An empty user.email given by -c hides the file: no actor.
	test_exit 2 git -c user.email= clean-release candidate register --candidate-id c6 --version 1 --source-snapshot HEAD
	grep "no actor" "$TRASH/.cr-err"
'

test_expect_success 'a malformed GIT_CONFIG_PARAMETERS or GIT_CONFIG_COUNT is one error line and nothing is written' '
	cd gitc
	test_refuses 2 env GIT_CONFIG_PARAMETERS="'"'"'user.email" clean-release candidate register --candidate-id c7 --version 1 --source-snapshot HEAD
	grep "bogus format in GIT_CONFIG_PARAMETERS" "$TRASH/.cr-err"
	test_refuses 2 env GIT_CONFIG_COUNT=two clean-release candidate register --candidate-id c7 --version 1 --source-snapshot HEAD
	grep "bogus count in GIT_CONFIG_COUNT" "$TRASH/.cr-err"
	test_refuses 2 env GIT_CONFIG_COUNT=1 clean-release candidate register --candidate-id c7 --version 1 --source-snapshot HEAD
	grep "missing config key GIT_CONFIG_KEY_0" "$TRASH/.cr-err"
'
