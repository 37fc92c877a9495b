#!/bin/sh
# t16-paging: candidate list, audit log and compliance violations page with
# --limit and --cursor as the OpenAPI contract's "Paging" says: the pages of
# any size are the whole list, in its order, each item once; the last page
# has next_cursor null; every --json page is a valid list envelope; a bad
# limit or cursor is refused with exit 2; paging writes nothing.
. "$(dirname "$0")/lib.sh"

# walk KEY ID LIMIT OUT CMD... — every page of `CMD --limit LIMIT --json`,
# following next_cursor: the ids (field ID of each item of array KEY) into
# OUT, one per line, the pages into OUT.page-N.json; fails if a page holds
# more than LIMIT items, or a page but the last one holds fewer.
walk='walk() {
	w_key=$1 w_id=$2 w_limit=$3 w_out=$4
	shift 4
	w_cursor= w_n=0 w_short=
	: >"$w_out"
	while :; do
		w_n=$((w_n + 1))
		if [ -n "$w_cursor" ]; then
			"$@" --limit "$w_limit" --cursor "$w_cursor" --json >"$w_out.page-$w_n.json"
		else
			"$@" --limit "$w_limit" --json >"$w_out.page-$w_n.json"
		fi
		w_len=$(jq ".$w_key | length" "$w_out.page-$w_n.json")
		test "$w_len" -le "$w_limit"
		test -z "$w_short"
		[ "$w_len" = "$w_limit" ] || w_short=1
		jq -r ".$w_key[].$w_id" "$w_out.page-$w_n.json" >>"$w_out"
		w_cursor=$(jq -r ".next_cursor // empty" "$w_out.page-$w_n.json")
		[ -n "$w_cursor" ] || break
	done
	echo "$w_n" >"$w_out.pages"
}'

test_expect_success 'setup: 23 candidates registered over three seconds, refusals in the log, a run with findings' '
	new_repo repo
	cd repo
	publish_acme_policy
	for i in 01 02 03 04 05 06 07 08; do
		clean-release -q candidate register --candidate-id "rc$i" --version 1.0.0 \
			--source-snapshot v1.2.0-rc1 --actor release-bot
	done
	sleep 1
	for i in 10 11 12 13 14 15 16 17; do
		clean-release -q candidate register --candidate-id "b.$i" --version 1.0.0 \
			--source-snapshot v1.2.0-rc1 --actor release-bot
	done
	test_exit 3 clean-release release approve --candidate-id b.10 --report-id rpt-001 --actor owner
	sleep 1
	mkdir -p art/dist
	: >art/list
	for i in $(seq 1 60); do
		printf "line one\n# XXX-DEBUG remove %s\n" "$i" >"art/dist/f$i.txt"
		echo "dist/f$i.txt -" >>art/list
	done
	artifacts_doc <art/list >art/artifacts.json
	test "$(make_candidate zz-run art/artifacts.json)" = man-001
	for i in 1 2 3 4 5 6; do
		clean-release -q candidate register --candidate-id "A$i" --version 1.0.0 \
			--source-snapshot v1.2.0-rc1 --actor release-bot
	done
	test_exit 1 clean-release -q compliance run --candidate-id zz-run --manifest-id man-001 --jobs 2 \
		--actor release-bot
	clean-release candidate list --json | jq -r ".candidates[].candidate_id" >../all-candidates
	test "$(wc -l <../all-candidates)" = 23
	clean-release audit log --json | jq -r ".events[].event_id" >../all-events
	clean-release compliance violations --run-id run-001 --json | jq -r ".violations[].violation_id" >../all-violations
	test "$(wc -l <../all-violations)" -gt 60
	refs_snapshot >../refs-before
'

test_expect_success 'the whole violations list is streamed: the same bytes as one page holding everything, and the same lines' '
	cd repo
	clean-release compliance violations --run-id run-001 --json >../streamed.json
	clean-release compliance violations --run-id run-001 --json --limit 1000 >../paged.json
	test_cmp ../paged.json ../streamed.json
	validate_openapi ViolationList ../streamed.json
	clean-release compliance violations --run-id run-001 --stage DATA_PURITY --json >../streamed-dp.json
	clean-release compliance violations --run-id run-001 --stage DATA_PURITY --json --limit 1000 >../paged-dp.json
	test_cmp ../paged-dp.json ../streamed-dp.json
	clean-release compliance violations --run-id run-001 >../streamed.txt
	clean-release compliance violations --run-id run-001 --limit 1000 >../paged.txt
	test_cmp ../paged.txt ../streamed.txt
	test_exit 4 clean-release compliance violations --run-id run-999 --json
	jq -e ".error.code == \"NOT_FOUND\"" "$TRASH/.cr-out" >/dev/null
'

test_expect_success 'candidate list pages at limits 1, 7 and 1000 are the whole list, in its order, each candidate once' '
	'"$walk"'
	cd repo
	for l in 1 7 1000; do
		walk candidates candidate_id $l ../cand-$l clean-release candidate list
		test_cmp ../all-candidates ../cand-$l
	done
	test "$(cat ../cand-1.pages)" = 23
	test "$(cat ../cand-7.pages)" = 4
	test "$(cat ../cand-1000.pages)" = 1
	jq -e ".next_cursor == null" ../cand-7.page-4.json >/dev/null
'

test_expect_success 'the candidate list is newest first, then by id, across the page boundaries' '
	cd repo
	clean-release candidate list --json | jq -r ".candidates[] | \"\(.created_at) \(.candidate_id)\"" >../keys
	LC_ALL=C sort -k1,1r -k2,2 ../keys >../keys.sorted
	test_cmp ../keys.sorted ../keys
	test "$(cut -d" " -f1 ../keys | uniq | wc -l)" -ge 3
'

test_expect_success 'audit log pages at limits 1, 7 and 1000 are the whole log, in ledger order, each event once' '
	'"$walk"'
	cd repo
	for l in 1 7 1000; do
		walk events event_id $l ../evt-$l clean-release audit log
		test_cmp ../all-events ../evt-$l
	done
	jq -e "[.events[] | select(.outcome == \"REFUSED\")] | length == 1" ../evt-1000.page-1.json >/dev/null
'

test_expect_success 'one candidate'"'"'s audit log pages the same way' '
	'"$walk"'
	cd repo
	clean-release audit log --candidate-id zz-run --json | jq -r ".events[].event_id" >../zz-events
	test "$(wc -l <../zz-events)" -ge 4
	for l in 1 7; do
		walk events event_id $l ../zz-$l clean-release audit log --candidate-id zz-run
		test_cmp ../zz-events ../zz-$l
	done
'

test_expect_success 'violation pages at limits 1, 7 and 1000 are the whole list, in append order, each violation once' '
	'"$walk"'
	cd repo
	for l in 1 7 1000; do
		walk violations violation_id $l ../vio-$l clean-release compliance violations --run-id run-001
		test_cmp ../all-violations ../vio-$l
	done
	jq -e ".run_id == \"run-001\"" ../vio-7.page-2.json >/dev/null
'

test_expect_success 'filtered violations page within the filter' '
	'"$walk"'
	cd repo
	clean-release compliance violations --run-id run-001 --stage DATA_PURITY --json |
		jq -r ".violations[].violation_id" >../dp-all
	test -s ../dp-all
	walk violations violation_id 7 ../dp-7 clean-release compliance violations --run-id run-001 --stage DATA_PURITY
	test_cmp ../dp-all ../dp-7
'

test_expect_success 'every --json page is a valid CandidateList, AuditEventList or ViolationList' '
	cd repo
	for f in ../cand-7.page-*.json ../cand-1000.page-1.json; do validate_openapi CandidateList "$f"; done
	for f in ../evt-7.page-1.json ../evt-7.page-2.json ../evt-1000.page-1.json; do validate_openapi AuditEventList "$f"; done
	for f in ../vio-7.page-1.json ../vio-1000.page-1.json; do validate_openapi ViolationList "$f"; done
	jq -e "(.next_cursor | type) == \"string\" and (.next_cursor | length) <= 511" ../cand-7.page-1.json >/dev/null
'

test_expect_success 'candidate list --limit prints one page and the next cursor; without --limit everything as before' '
	cd repo
	clean-release candidate list --limit 2 >../page.txt
	test "$(wc -l <../page.txt)" = 4
	head -n 1 ../page.txt | grep -q "^CANDIDATE  *VERSION  *STATUS"
	c=$(clean-release candidate list --limit 2 --json | jq -r .next_cursor)
	test "$(sed -n 4p ../page.txt)" = "next_cursor: $c"
	clean-release candidate list >../whole.txt
	test "$(wc -l <../whole.txt)" = 24
	test_must_fail grep -q next_cursor ../whole.txt
	clean-release audit log --limit 1 >../one.txt
	test "$(wc -l <../one.txt)" = 2
	test "$(head -n 1 ../one.txt | cut -d" " -f1)" = evt-001
'

test_expect_success '--limit 0 and --limit 1001 exit 2 naming the range' '
	cd repo
	for cmd in "candidate list" "audit log" "compliance violations --run-id run-001"; do
		for l in 0 1001 x; do
			test_refuses 2 clean-release $cmd --limit $l
			grep -q "^clean-release: error: --limit needs a whole number from 1 to 1000$" "$TRASH/.cr-err"
		done
	done
'

test_expect_success 'a malformed, altered or foreign cursor exits 2 with one line naming the problem' '
	cd repo
	c=$(clean-release candidate list --limit 3 --json | jq -r .next_cursor)
	e=$(clean-release audit log --limit 3 --json | jq -r .next_cursor)
	v=$(clean-release compliance violations --run-id run-001 --limit 3 --json | jq -r .next_cursor)
	test_refuses 2 clean-release candidate list --limit 3 --cursor not-a-cursor
	grep -q "^clean-release: error: invalid cursor: not a cursor of clean-release$" "$TRASH/.cr-err"
	test_refuses 2 clean-release audit log --cursor ""
	test_refuses 2 clean-release candidate list --limit 3 --cursor "$e"
	grep -q "^clean-release: error: invalid cursor: it belongs to another list or to other filters$" "$TRASH/.cr-err"
	test_refuses 2 clean-release audit log --limit 3 --cursor "$v"
	test_refuses 2 clean-release compliance violations --run-id run-001 --limit 3 --cursor "$c"
	test_refuses 2 clean-release candidate list --status DRAFT --limit 3 --cursor "$c"
	test_refuses 2 clean-release audit log --candidate-id rc01 --limit 3 --cursor "$e"
	test_refuses 2 clean-release compliance violations --run-id run-001 --severity WARNING --limit 3 --cursor "$v"
	# One hex digit changed: the check no longer matches.
	first=$(printf %s "$c" | cut -c1)
	if [ "$first" = 6 ]; then alt=7; else alt=6; fi
	forged="$alt$(printf %s "$c" | cut -c2-)"
	test_refuses 2 clean-release candidate list --limit 3 --cursor "$forged"
	grep -q "^clean-release: error: invalid cursor: it was altered (its check does not match)$" "$TRASH/.cr-err"
'

test_expect_success 'a cursor with no --limit pages by 100; paging wrote nothing' '
	cd repo
	e=$(clean-release audit log --limit 1 --json | jq -r .next_cursor)
	clean-release audit log --cursor "$e" --json >../rest.json
	test "$(jq ".events | length" ../rest.json)" = "$(($(wc -l <../all-events) - 1))"
	check_refs_unchanged ../refs-before
'

test_expect_success 'the order index numbers every candidate record in registration order; verify is clean' '
	cd repo
	L=refs/clean-release/ledger
	git ls-tree -r --name-only $L order >../order-paths
	test "$(wc -l <../order-paths)" = 23
	test "$(tail -n 1 ../order-paths)" = order/0/0/0/0/0/0/0/2/3.json
	test "$(git rev-parse "$L:order/0/0/0/0/0/0/0/0/1.json")" = "$(git rev-parse "$L:candidates/$(fanout rc01)/rc01/candidate.json")"
	test "$(git rev-parse "$L:order/0/0/0/0/0/0/0/2/3.json")" = "$(git rev-parse "$L:candidates/$(fanout A6)/A6/candidate.json")"
	test_exit 0 clean-release verify
'

test_expect_success 'verify refuses an order index that numbers a candidate twice, skips a number or goes back in time' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	newest=$(git rev-parse "$tip:candidates/$(fanout A6)/A6/candidate.json")
	oldest=$(git rev-parse "$tip:candidates/$(fanout rc01)/rc01/candidate.json")
	bad=$(ledger_forge $tip --cacheinfo "100644,$newest,order/0/0/0/0/0/0/0/2/4.json")
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -q "the order index numbers 24 candidates, the ledger holds 23" "$TRASH/.cr-err"
	bad=$(ledger_forge $tip --cacheinfo "100644,$newest,order/0/0/0/0/0/0/0/2/5.json")
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -q "order/0/0/0/0/0/0/0/2/4.json is missing" "$TRASH/.cr-err"
	bad=$(ledger_forge $tip --cacheinfo "100644,$oldest,order/0/0/0/0/0/0/0/2/4.json")
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -q "order/0/0/0/0/0/0/0/2/4.json: created_at before the one numbered before it" "$TRASH/.cr-err"
	test_exit 0 clean-release verify
'

# strip_order — rewrite the ledger chain without its order/ tree, as a
# ledger written before the index existed.
strip_order='strip_order() {
	so_prev=
	for so_c in $(git rev-list --reverse refs/clean-release/ledger); do
		GIT_INDEX_FILE="$TRASH/.so.idx" git read-tree "$so_c"
		GIT_INDEX_FILE="$TRASH/.so.idx" git rm -r -q --cached --ignore-unmatch order
		so_t=$(GIT_INDEX_FILE="$TRASH/.so.idx" git write-tree)
		so_prev=$(git log -1 --format=%B "$so_c" | git commit-tree "$so_t" ${so_prev:+-p "$so_prev"})
	done
	rm -f "$TRASH/.so.idx"
	git update-ref refs/clean-release/ledger "$so_prev"
}'

test_expect_success 'a ledger written before the index pages by sorting every record, and verify is clean' '
	'"$walk"'
	'"$strip_order"'
	new_repo old
	cd old
	for i in 5 3 9 1; do
		clean-release -q candidate register --candidate-id "o$i" --version 1.0.0 \
			--source-snapshot v1.2.0-rc1 --actor release-bot
	done
	sleep 1
	for i in 8 2 7; do
		clean-release -q candidate register --candidate-id "o$i" --version 1.0.0 \
			--source-snapshot v1.2.0-rc1 --actor release-bot
	done
	strip_order
	test -z "$(git ls-tree --name-only refs/clean-release/ledger order)"
	test_exit 0 clean-release verify
	clean-release candidate list --json | jq -r ".candidates[].candidate_id" >../old-all
	test "$(wc -l <../old-all)" = 7
	for l in 1 2 1000; do
		walk candidates candidate_id $l ../old-$l clean-release candidate list
		test_cmp ../old-all ../old-$l
	done
'

test_expect_success 'the first register on such a ledger writes the whole index; pages then read it' '
	'"$walk"'
	cd old
	clean-release -q candidate register --candidate-id o0 --version 1.0.0 \
		--source-snapshot v1.2.0-rc1 --actor release-bot
	L=refs/clean-release/ledger
	test "$(git ls-tree -r --name-only $L order | wc -l)" = 8
	test "$(git rev-parse "$L:order/0/0/0/0/0/0/0/0/8.json")" = "$(git rev-parse "$L:candidates/$(fanout o0)/o0/candidate.json")"
	test_exit 0 clean-release verify
	clean-release candidate list --json | jq -r ".candidates[].candidate_id" >../new-all
	test "$(head -n 1 ../new-all)" = o0
	tail -n 7 ../new-all >../new-rest
	test_cmp ../old-all ../new-rest
	for l in 1 3 1000; do
		walk candidates candidate_id $l ../new-$l clean-release candidate list
		test_cmp ../new-all ../new-$l
	done
'
