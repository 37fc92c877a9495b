#!/bin/sh
# t15-clones: the evidence travels with plain git push/fetch of
# refs/clean-release/* and refs/notes/clean-release; a fresh clone sees and
# verifies the same candidates, and can carry on where the other left off.
. "$(dirname "$0")/lib.sh"

fetch_evidence='git fetch -q origin "+refs/clean-release/*:refs/clean-release/*" "+refs/notes/clean-release:refs/notes/clean-release"'
export fetch_evidence

test_expect_success 'setup: a bare server; clone A pushes a tagged commit' '
	git init -q --bare server.git
	git clone -q server.git A 2>/dev/null
	cd A
	echo hello >README
	git add README
	git commit -q -m init
	git tag v1.2.0-rc1
	echo more >>README
	git commit -q -a -m second
	git tag v1.3.0-rc1
	git push -q origin HEAD:refs/heads/master --tags
'

test_expect_success 'clone A registers, imports, builds manifests and publishes a policy' '
	cd A
	mkdir -p ../art/dist
	printf "a\n" >../art/dist/a.txt
	printf "bb\n" >../art/dist/b.txt
	printf "{\"artifacts\":[{\"path\":\"dist/a.txt\",\"source\":\"build:ci/1\"},{\"path\":\"dist/b.txt\"}]}" >../art/artifacts.json
	clean-release candidate register --candidate-id 2026.03.09-rc1 --version 1.2.0 --source-snapshot v1.2.0-rc1 --actor release-bot -q
	clean-release candidate register --candidate-id 2026.03.10-rc1 --version 1.3.0 --source-snapshot v1.3.0-rc1 --actor release-bot -q
	clean-release candidate register --candidate-id 2026.03.11-rc1 --version 1.3.1 --source-snapshot HEAD --actor someone -q
	clean-release candidate import-artifacts --candidate-id 2026.03.09-rc1 --input ../art/artifacts.json --actor release-bot -q
	clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot -q
	clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot -q
	clean-release candidate import-artifacts --candidate-id 2026.03.10-rc1 --input ../art/artifacts.json --actor release-bot -q
	write_policy ..
	clean-release policy publish --policy ../policy.json --registry ../registry.json --actor release-owner -q
	clean-release candidate list --json >../A-list.json
	test "$(jq -r "[.candidates[].status] | sort | join(\",\")" ../A-list.json)" = "DRAFT,MANIFEST_BUILT,PREPARED"
'

test_expect_success 'clone A pushes refs/clean-release/* and refs/notes/clean-release to the server' '
	cd A
	git push -q origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"
	git -C ../server.git for-each-ref --format="%(refname) %(objectname)" refs/clean-release refs/notes >../server-refs
	refs_snapshot | grep -e "^refs/clean-release/" -e "^refs/notes/clean-release " >../A-refs
	test_cmp ../A-refs ../server-refs
	test "$(wc -l <../server-refs)" = 3
'

test_expect_success 'verify is clean on the bare server itself' '
	test_exit 0 clean-release -C server.git verify
	GIT_DIR=server.git clean-release verify
	test "$(clean-release -C server.git candidate list --json | jq ".candidates | length")" = 3
'

test_expect_success 'clone B (fresh clone + fetch of the evidence refs) lists the same candidates, statuses and ids' '
	git clone -q server.git B
	cd B
	eval "$fetch_evidence"
	clean-release candidate list --json >../B-list.json
	validate_openapi CandidateList ../B-list.json
	test_cmp ../A-list.json ../B-list.json
	for c in 2026.03.09-rc1 2026.03.10-rc1 2026.03.11-rc1; do
		clean-release -C ../A candidate show --candidate-id $c --json >../A-show.json
		clean-release candidate show --candidate-id $c --json >../B-show.json
		test_cmp ../A-show.json ../B-show.json
	done
'

test_expect_success 'clone B shows the same manifests, audit log and policy' '
	cd B
	for m in man-001 man-002; do
		clean-release -C ../A manifest show --manifest-id $m --json >../A-man.json
		clean-release manifest show --manifest-id $m --json >../B-man.json
		test_cmp ../A-man.json ../B-man.json
	done
	clean-release -C ../A audit log --json >../A-audit.json
	clean-release audit log --json >../B-audit.json
	test_cmp ../A-audit.json ../B-audit.json
	clean-release -C ../A policy show --json >../A-policy.json
	clean-release policy show --json >../B-policy.json
	test_cmp ../A-policy.json ../B-policy.json
'

test_expect_success 'verify is clean in clone B' '
	cd B
	test_exit 0 clean-release verify
	clean-release -C ../A verify --json >../A-verify.json
	clean-release verify --json >../B-verify.json
	test_cmp ../A-verify.json ../B-verify.json
'

test_expect_success 'git log --notes=clean-release in clone B shows the notes of the candidates' '
	cd B
	git log --notes=clean-release -1 --format=%N v1.2.0-rc1 >../B-note-12
	grep "^2026.03.09-rc1" ../B-note-12 | grep -w MANIFEST_BUILT | grep -w man-002
	git log --notes=clean-release -1 --format=%N v1.3.0-rc1 >../B-note-13
	grep "^2026.03.10-rc1" ../B-note-13 | grep -w PREPARED
	grep "^2026.03.11-rc1" ../B-note-13 | grep -w DRAFT
	git -C ../A log --notes=clean-release -1 --format=%N v1.3.0-rc1 >../A-note-13
	test_cmp ../A-note-13 ../B-note-13
'

test_expect_success 'clone B carries on: its next ids follow those of A (man-003, imp-003), and it pushes fast-forward' '
	cd B
	clean-release manifest build --candidate-id 2026.03.10-rc1 --actor b-bot --json >../B-man3.json
	test "$(jq -r .manifest_id ../B-man3.json)" = man-003
	test "$(jq -r .import_id ../B-man3.json)" = imp-002
	clean-release candidate import-artifacts --candidate-id 2026.03.11-rc1 --input ../art/artifacts.json --actor b-bot --json >../B-imp3.json
	test "$(jq -r .import_id ../B-imp3.json)" = imp-003
	git push -q origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"
	test_exit 0 clean-release verify
'

test_expect_success 'clone A fetches the evidence written in B (fast-forward) and sees the new statuses' '
	cd A
	old=$(git rev-parse refs/clean-release/ledger)
	git fetch -q origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"
	git merge-base --is-ancestor $old refs/clean-release/ledger
	test "$(clean-release candidate show --candidate-id 2026.03.10-rc1 --json | jq -r .status)" = MANIFEST_BUILT
	test "$(clean-release candidate show --candidate-id 2026.03.11-rc1 --json | jq -r .status)" = PREPARED
	test_exit 0 clean-release verify
	git log --notes=clean-release -1 --format=%N v1.3.0-rc1 | grep "^2026.03.10-rc1" | grep -w man-003
'
