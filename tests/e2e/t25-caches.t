#!/bin/sh
# t25-caches: a run reads its manifest packed from the local cache and its
# prefilter database from disk; a damaged, deleted or lying cache entry never
# changes a verdict: it is read again from the evidence, or the run is
# blocked or refused.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: the acme policy and a clean corpus of three artifacts' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p art/dist
	printf "console.log(1);\n" >art/dist/app.js
	printf "body { }\n" >art/dist/app.css
	printf "# notes\n" >art/dist/NOTES.md
	printf "dist/app.js build:acme-ci/web/1\ndist/app.css build:acme-ci/web/1\ndist/NOTES.md build:acme-ci/web/1\n" |
		artifacts_doc >art/artifacts.json
'

test_expect_success 'manifest build leaves the packed manifest under the manifest object id; a run passes with it' '
	cd repo
	mid=$(make_candidate c1 art/artifacts.json)
	test "$mid" = man-001
	test -s "$(cache_of man-001)"
	test "$(pack show "$(cache_of man-001)" | jq -r .manifest_digest)" = \
		"$(clean-release manifest show --manifest-id man-001 --json | jq -r .manifest_digest)"
	test_exit 0 clean-release compliance run --candidate-id c1 --manifest-id man-001 --actor release-bot
	ls "$(git rev-parse --absolute-git-dir)"/clean-release/cache/prefilter-*.hsdb
'

test_expect_success 'an entry that lies about an artifact (valid checksum) is read, and the run is BLOCKED, not passed' '
	cd repo
	mid=$(make_candidate c2 art/artifacts.json)
	pack set-sha "$(cache_of $mid)" dist/app.js "$(printf x | sha256sum | cut -c1-64)"
	test_exit 1 clean-release compliance run --candidate-id c2 --manifest-id $mid --actor release-bot --json
	test "$(jq -r .final_status "$TRASH/.cr-out")" = BLOCKED
	run=$(jq -r .run_id "$TRASH/.cr-out")
	clean-release compliance violations --run-id $run --json | jq -r ".violations[].rule_id" | sort >../rules
	grep -x builtin:manifest-digest-mismatch ../rules
	grep -x builtin:sha256-mismatch ../rules
'

test_expect_success 'an entry that drops an artifact and fixes its own digest is refused (exit 5), and nothing is written' '
	cd repo
	mid=$(make_candidate c3 art/artifacts.json)
	pack drop "$(cache_of $mid)" dist/app.js
	test "$(pack show "$(cache_of $mid)" | jq ".artifacts | length")" = 2
	refs_snapshot >../refs.before
	test_exit 5 clean-release compliance run --candidate-id c3 --manifest-id $mid --actor release-bot
	check_one_error "$TRASH/.cr-err"
	grep -F "manifest.build event" "$TRASH/.cr-err"
	check_refs_unchanged ../refs.before
	test "$(candidate_status c3)" = MANIFEST_BUILT
'

test_expect_success 'a damaged entry is read from the ledger instead, and written again' '
	cd repo
	mid=$(make_candidate c4 art/artifacts.json)
	f=$(cache_of $mid)
	cp "$f" ../good.bin
	printf "\377" | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
	test_must_fail cmp -s "$f" ../good.bin
	test_exit 0 clean-release compliance run --candidate-id c4 --manifest-id $mid --actor release-bot
	cmp "$f" ../good.bin
'

test_expect_success 'with the whole cache gone a run passes the same, and the cache is written again' '
	cd repo
	mid=$(make_candidate c5 art/artifacts.json)
	rm -rf "$(git rev-parse --absolute-git-dir)/clean-release/cache"
	test_exit 0 clean-release compliance run --candidate-id c5 --manifest-id $mid --actor release-bot
	test -s "$(cache_of $mid)"
	ls "$(git rev-parse --absolute-git-dir)"/clean-release/cache/prefilter-*.hsdb
'

test_expect_success 'a damaged prefilter database is compiled again: the same findings' '
	cd repo
	printf "see https://collector.evil-analytics.example/t\n" >art/dist/NOTES.md
	mid=$(make_candidate c6 art/artifacts.json)
	test_exit 1 clean-release compliance run --candidate-id c6 --manifest-id $mid --actor release-bot --json
	first=$(jq -r .run_id "$TRASH/.cr-out")
	for f in "$(git rev-parse --absolute-git-dir)"/clean-release/cache/prefilter-*.hsdb; do
		printf "\377\377\377\377" | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null
	done
	clean-release -q candidate import-artifacts --candidate-id c6 --input art/artifacts.json --actor release-bot
	mid=$(clean-release --json manifest build --candidate-id c6 --actor release-bot | jq -r .manifest_id)
	test_exit 1 clean-release compliance run --candidate-id c6 --manifest-id $mid --actor release-bot --json
	second=$(jq -r .run_id "$TRASH/.cr-out")
	clean-release compliance violations --run-id $first --json | jq -c "[.violations[] | [.rule_id, .artifact_path, .location]]" >../v1
	clean-release compliance violations --run-id $second --json | jq -c "[.violations[] | [.rule_id, .artifact_path, .location]]" >../v2
	test "$(jq length ../v1)" = 1
	test_cmp ../v1 ../v2
'

# fresh_list FILE: the whole list derived from the evidence alone (the view
# cache moved away for the call, and put back).
fresh_list='fresh_list() {
	vc="$(git rev-parse --absolute-git-dir)/clean-release/cache/candidate-views.bin"
	if [ -f "$vc" ]; then mv "$vc" "$vc.keep"; fi
	clean-release candidate list --json >"$1"
	rm -f "$vc"
	if [ -f "$vc.keep" ]; then mv "$vc.keep" "$vc"; fi
}'

test_expect_success 'the whole candidate list is kept in the view cache and equals the list derived from the evidence, after every write' '
	'"$fresh_list"'
	cd repo
	vc="$(git rev-parse --absolute-git-dir)/clean-release/cache/candidate-views.bin"
	rm -f "$vc"
	clean-release candidate list --json >../l1
	test -s "$vc"
	clean-release candidate list --json >../l2
	test_cmp ../l1 ../l2
	clean-release -q candidate register --candidate-id c7 --version 7 --source-snapshot HEAD --actor release-bot
	clean-release -q release approve --candidate-id c1 --report-id rpt-001 --actor release-owner
	clean-release candidate list --json >../l3
	fresh_list ../l3.fresh
	test_cmp ../l3.fresh ../l3
	test "$(jq -r ".candidates[] | select(.candidate_id == \"c1\") | .status" ../l3)" = APPROVED
	jq -e ".candidates[] | select(.candidate_id == \"c7\")" ../l3 >/dev/null
	clean-release candidate list --status DRAFT --json >../l4
	test "$(jq -r "[.candidates[].candidate_id] | join(\" \")" ../l4)" = c7
'

test_expect_success 'a torn or damaged view cache entry is not read: the list is derived again, the same' '
	'"$fresh_list"'
	cd repo
	vc="$(git rev-parse --absolute-git-dir)/clean-release/cache/candidate-views.bin"
	fresh_list ../fresh
	clean-release candidate list --json >/dev/null
	head -c 100 "$vc" >"$vc.torn" && mv "$vc.torn" "$vc"
	clean-release candidate list --json >../torn
	test_cmp ../fresh ../torn
	printf "\377\377" | dd of="$vc" bs=1 seek=60 conv=notrunc 2>/dev/null
	clean-release candidate list --json >../damaged
	test_cmp ../fresh ../damaged
	printf "garbage" >"$vc"
	clean-release candidate list --json >../garbage
	test_cmp ../fresh ../garbage
'
