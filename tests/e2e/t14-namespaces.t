#!/bin/sh
# t14-namespaces: the demo namespace (--demo) and the real one are fully
# separate: refs, candidates, counters, notes, audit log; reads write nothing.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: one repository, real candidate r1 and demo candidate d1, each imported and built' '
	new_repo repo
	cd repo
	mkdir -p in/dist
	printf "x\n" >in/dist/x.txt
	printf "{\"artifacts\":[{\"path\":\"dist/x.txt\"}]}" >in/a.json
	clean-release candidate register --candidate-id r1 --version 1 --source-snapshot HEAD --actor real-bot -q
	clean-release candidate import-artifacts --candidate-id r1 --input in/a.json --actor real-bot -q
	clean-release manifest build --candidate-id r1 --actor real-bot -q
	refs_snapshot >../real-only
	clean-release --demo candidate register --candidate-id d1 --version 1 --source-snapshot HEAD --actor demo-bot -q
	clean-release --demo candidate import-artifacts --candidate-id d1 --input in/a.json --actor demo-bot -q
	clean-release --demo manifest build --candidate-id d1 --actor demo-bot -q
'

test_expect_success 'demo writes touched no real ref; demo refs live under refs/clean-release-demo/ and refs/notes/clean-release-demo' '
	cd repo
	refs_snapshot >../both
	grep -v -e "^refs/clean-release-demo/" -e "^refs/notes/clean-release-demo " ../both >../both-minus-demo
	test_cmp ../real-only ../both-minus-demo
	grep "^refs/clean-release-demo/ledger " ../both
	grep "^refs/notes/clean-release-demo " ../both
	grep "^refs/clean-release/ledger " ../both
	grep "^refs/notes/clean-release " ../both
	git for-each-ref --format="%(refname)" | grep -i demo >../demo-refs
	test_must_fail grep -v -e "^refs/clean-release-demo/" -e "^refs/notes/clean-release-demo\$" ../demo-refs
'

test_expect_success 'candidate list in each namespace shows only its own candidate' '
	cd repo
	test "$(clean-release candidate list --json | jq -r "[.candidates[].candidate_id] | join(\",\")")" = r1
	test "$(clean-release --demo candidate list --json | jq -r "[.candidates[].candidate_id] | join(\",\")")" = d1
	test "$(clean-release candidate list --demo --json | jq -r "[.candidates[].candidate_id] | join(\",\")")" = d1
'

test_expect_success 'show of a candidate of the other namespace is exit 4 in both directions' '
	cd repo
	test_refuses 4 clean-release candidate show --candidate-id d1
	test_refuses 4 clean-release --demo candidate show --candidate-id r1
	test "$(clean-release candidate show --candidate-id r1 --json | jq -r .status)" = MANIFEST_BUILT
	test "$(clean-release --demo candidate show --candidate-id d1 --json | jq -r .status)" = MANIFEST_BUILT
'

test_expect_success 'counters are per namespace: both first manifests are man-001, each with its own candidate' '
	cd repo
	test "$(clean-release manifest show --manifest-id man-001 --json | jq -r .candidate_id)" = r1
	test "$(clean-release --demo manifest show --manifest-id man-001 --json | jq -r .candidate_id)" = d1
	test "$(clean-release --demo candidate show --candidate-id d1 --json | jq -r .latest_import_id)" = imp-001
'

test_expect_success 'the audit logs are separate' '
	cd repo
	clean-release audit log --json >../real-audit.json
	clean-release --demo audit log --json >../demo-audit.json
	validate_openapi AuditEventList ../demo-audit.json
	test "$(jq -r "[.events[].candidate_id] | unique | join(\",\")" ../real-audit.json)" = r1
	test "$(jq -r "[.events[].candidate_id] | unique | join(\",\")" ../demo-audit.json)" = d1
	test "$(jq -r "[.events[].actor] | unique | join(\",\")" ../demo-audit.json)" = demo-bot
	test "$(jq -r "[.events[].event_id] | join(\",\")" ../demo-audit.json)" = "evt-001,evt-002,evt-003"
'

test_expect_success 'registering the same id in both namespaces is allowed (no cross-namespace conflict)' '
	cd repo
	clean-release candidate register --candidate-id both --version 1.0.0 --source-snapshot HEAD --actor real-bot -q
	clean-release --demo candidate register --candidate-id both --version 9.0.0 --source-snapshot HEAD --actor demo-bot -q
	test "$(clean-release candidate show --candidate-id both --json | jq -r .version)" = 1.0.0
	test "$(clean-release --demo candidate show --candidate-id both --json | jq -r .version)" = 9.0.0
'

test_expect_success 'notes are separate: the real note names no demo candidate and vice versa' '
	cd repo
	git log --notes=clean-release -1 --format=%N HEAD >../real-note
	git log --notes=clean-release-demo -1 --format=%N HEAD >../demo-note
	grep "^r1" ../real-note
	test_must_fail grep "^d1" ../real-note
	grep "^d1" ../demo-note
	test_must_fail grep "^r1" ../demo-note
	grep "^both.*1\.0\.0" ../real-note
	grep "^both.*9\.0\.0" ../demo-note
'

test_expect_success 'reading the real namespace (show, list, audit log, verify, manifest show) changes no ref at all' '
	cd repo
	refs_snapshot >../before
	clean-release candidate show --candidate-id r1 >/dev/null
	clean-release candidate list --json >/dev/null
	clean-release audit log >/dev/null
	clean-release verify >/dev/null
	clean-release manifest show --manifest-id man-001 >/dev/null
	test_expect_code 2 clean-release policy show 2>/dev/null
	check_refs_unchanged ../before
'

test_expect_success 'reading the demo namespace (show, list, audit log, verify, manifest show) changes no ref at all' '
	cd repo
	refs_snapshot >../before
	clean-release --demo candidate show --candidate-id d1 >/dev/null
	clean-release --demo candidate list --json >/dev/null
	clean-release --demo audit log >/dev/null
	clean-release --demo verify >/dev/null
	clean-release --demo manifest show --manifest-id man-001 >/dev/null
	check_refs_unchanged ../before
'

test_expect_success 'in a fresh repository, demo reads create no refs/clean-release-demo ref and real reads no real ref' '
	new_repo fresh
	cd fresh
	refs_snapshot >../fresh-before
	clean-release --demo candidate list >/dev/null
	clean-release --demo audit log >/dev/null
	clean-release --demo verify >/dev/null
	test_expect_code 4 clean-release --demo candidate show --candidate-id x 2>/dev/null
	clean-release candidate list >/dev/null
	clean-release audit log >/dev/null
	clean-release verify >/dev/null
	test_expect_code 4 clean-release candidate show --candidate-id x 2>/dev/null
	test_expect_code 2 clean-release policy show 2>/dev/null
	check_refs_unchanged ../fresh-before
'

test_expect_success 'the demo namespace has a built-in policy: --demo policy show is a valid PolicyView (namespace demo)' '
	cd fresh
	clean-release --demo policy show --json >../demo-policy.json
	validate_openapi PolicyView ../demo-policy.json
	test "$(jq -r .namespace ../demo-policy.json)" = demo
	test "$(jq -r .policy_snapshot.resolved_from.ref ../demo-policy.json)" = refs/clean-release-demo/policy
'

test_expect_success '--demo policy show is a read: in a fresh repository it creates no ref' '
	new_repo fresh2
	cd fresh2
	refs_snapshot >../fresh2-before
	clean-release --demo policy show >/dev/null
	check_refs_unchanged ../fresh2-before
'

test_expect_success 'a real policy publish does not change the demo policy, and demo verify stays clean' '
	cd repo
	clean-release --demo policy show --json >../demo-policy-before.json
	refs_snapshot | grep demo >../demo-refs-before
	write_policy ..
	clean-release policy publish --policy ../policy.json --registry ../registry.json --actor real-bot -q
	refs_snapshot | grep demo >../demo-refs-after
	test_cmp ../demo-refs-before ../demo-refs-after
	clean-release --demo policy show --json >../demo-policy-after.json
	test_cmp ../demo-policy-before.json ../demo-policy-after.json
	test "$(clean-release policy show --json | jq -r .policy_snapshot.policy_id)" = e2e-policy
	test "$(jq -r .policy_snapshot.policy_id ../demo-policy-after.json)" != e2e-policy
	test_exit 0 clean-release --demo verify
	test_exit 0 clean-release verify
'
