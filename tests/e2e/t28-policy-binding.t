#!/bin/sh
# t28-policy-binding: the trusted policy is the one the ledger records. A
# policy ref moved by hand, or a publish cut short between the ledger and
# the ref, is found by verify and refused by compliance run; the same
# publish again finishes it; versions only go up.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: the acme policy (v3) published; a candidate shipping a PEM private key' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p art/dist
	printf -- "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n" >art/dist/key.txt
	printf "dist/key.txt build:acme-ci/web/1\n" | artifacts_doc >art/artifacts.json
	make_candidate pem art/artifacts.json >../pem.manifest
	test_exit 0 clean-release verify
	git ls-tree --name-only refs/clean-release/ledger policy/ | grep -x "policy/evt-[0-9]*\.json"
	ev=$(git ls-tree --name-only refs/clean-release/ledger policy/ | sed "s|policy/||; s|\.json||")
	test "$(git cat-file blob refs/clean-release/ledger:policy/$ev.json | jq -r .details.policy_commit)" = \
		"$(git rev-parse refs/clean-release/policy)"
'

test_expect_success 'a policy ref swapped with git update-ref (a new root with no rules): verify exit 5, the run refused, nothing approved' '
	cd repo
	good=$(git rev-parse refs/clean-release/policy)
	jq ".rules = []" "$CR_TESTS_DIR/fixtures/acme-policy.json" | canon canonical /dev/stdin >../empty-policy.json
	pb=$(git hash-object -w ../empty-policy.json)
	rb=$(git rev-parse "$good:registry.json")
	tree=$(printf "100644 blob %s\tpolicy.json\n100644 blob %s\tregistry.json\n" $pb $rb | git mktree)
	evil=$(echo "no rules" | git commit-tree $tree)
	git update-ref refs/clean-release/policy $evil
	test_exit 5 clean-release verify
	grep "points at $(echo $evil | cut -c1-12), but the latest policy.publish (evt-[0-9]*) records $(echo $good | cut -c1-12)" "$TRASH/.cr-err"
	before=$(git rev-parse refs/clean-release/ledger)
	test_exit 5 clean-release compliance run --candidate-id pem --manifest-id $(cat ../pem.manifest) --actor release-bot
	grep "points at $(echo $evil | cut -c1-12)" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
	test "$(candidate_status pem)" = MANIFEST_BUILT
	git update-ref refs/clean-release/policy $good
	test_exit 0 clean-release verify
	test_exit 1 clean-release compliance run --candidate-id pem --manifest-id $(cat ../pem.manifest) --actor release-bot
	test "$(candidate_status pem)" = CHECK_BLOCKED
'

test_expect_success 'a publish cut short after the ledger recorded it: verify exit 5 and runs refused, until the same publish again finishes it' '
	cd repo
	acme_policy ../v4 ".version = 4"
	old=$(git rev-parse refs/clean-release/policy)
	events=$(git ls-tree --name-only refs/clean-release/ledger policy/ | wc -l)
	set +e
	CR_TEST_PUBLISH_STOP=1 clean-release -q policy publish --policy ../v4/policy.json --registry ../v4/registry.json \
		--actor security-officer 2>../stop.err
	got=$?
	set -e
	test $got != 0
	grep "stopped by a test fault" ../stop.err
	test "$(git rev-parse refs/clean-release/policy)" = "$old"
	test "$(git ls-tree --name-only refs/clean-release/ledger policy/ | wc -l)" = $((events + 1))
	test_exit 5 clean-release verify
	grep "records" "$TRASH/.cr-err"
	mid=$(clean-release --json manifest build --candidate-id pem --actor release-bot | jq -r .manifest_id)
	test_exit 5 clean-release compliance run --candidate-id pem --manifest-id $mid --actor release-bot
	clean-release -q policy publish --policy ../v4/policy.json --registry ../v4/registry.json --actor security-officer
	test "$(git ls-tree --name-only refs/clean-release/ledger policy/ | wc -l)" = $((events + 1))
	test "$(git rev-parse refs/clean-release/policy^)" = "$old"
	test "$(clean-release policy show --json | jq -r .policy.version)" = 4
	test_exit 0 clean-release verify
	test_exit 1 clean-release compliance run --candidate-id pem --manifest-id $mid --actor release-bot
'

test_expect_success 'a lower version, or the same version with other content, is refused (exit 2), writing nothing' '
	cd repo
	acme_policy ../v3 ".version = 3"
	acme_policy ../v4b ".version = 4 | .rules = .rules[:3]"
	before=$(git rev-parse refs/clean-release/ledger)
	pol=$(git rev-parse refs/clean-release/policy)
	test_exit 2 clean-release policy publish --policy ../v3/policy.json --registry ../v3/registry.json --actor security-officer
	grep "is older than the policy in force" "$TRASH/.cr-err"
	test_exit 2 clean-release policy publish --policy ../v4b/policy.json --registry ../v4b/registry.json --actor security-officer
	grep "version 4 is in force already with other content" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
	test "$(git rev-parse refs/clean-release/policy)" = "$pol"
'

test_expect_success 'a policy history that is not linear is exit 5 in verify' '
	cd repo
	good=$(git rev-parse refs/clean-release/policy)
	side=$(echo side | git commit-tree "$good^{tree}")
	merge=$(echo merge | git commit-tree "$good^{tree}" -p $good -p $side)
	git update-ref refs/clean-release/policy $merge
	test_exit 5 clean-release verify
	grep "is a merge: the policy history is not linear" "$TRASH/.cr-err"
	git update-ref refs/clean-release/policy $good
	test_exit 0 clean-release verify
'
