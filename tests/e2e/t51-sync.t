#!/bin/sh
# t51-sync: evidence between clones: remote setup, fetch (never losing local
# entries), push (atomic, forward only), and sync, which replays a clone's
# local operations on top of the server's ledger through their gates again.
. "$(dirname "$0")/lib.sh"

# flow ID SNAPSHOT [ARTIFACT-CONTENT] — register, import one file, build, run (in the current clone).
flow='flow() {
	mkdir -p "$TRASH/art-$1/dist"
	printf "%s\n" "${3:-clean}" >"$TRASH/art-$1/dist/app.txt"
	printf "{\"artifacts\":[{\"path\":\"dist/app.txt\",\"source\":\"build:ci/1\"}]}" >"$TRASH/art-$1/artifacts.json"
	clean-release -q candidate register --candidate-id "$1" --version 1.0.0 --source-snapshot "$2"
	clean-release -q candidate import-artifacts --candidate-id "$1" --input "$TRASH/art-$1/artifacts.json"
	m=$(clean-release --json manifest build --candidate-id "$1" | jq -r .manifest_id)
	clean-release -q compliance run --candidate-id "$1" --manifest-id "$m" --jobs 1 || true
}'
# ids_unique — every id kind in the audit log of this clone is unique, and verify is clean.
ids_unique='ids_unique() {
	clean-release verify >/dev/null
	clean-release audit log --json >"$TRASH/.log.json"
	test "$(jq "[.events[].event_id] | length" "$TRASH/.log.json")" = "$(jq "[.events[].event_id] | unique | length" "$TRASH/.log.json")"
}'
export flow ids_unique

test_expect_success 'setup: a bare server with the gate; clone A publishes the policy, checks c0 and pushes' '
	git init -q --bare server.git
	(cd server.git && clean-release -q hook install --server)
	git clone -q server.git A 2>/dev/null
	cd A
	git config user.email a@example.org
	echo hello >README && git add README && git commit -q -m init && git tag v1.2.0-rc1
	git push -q origin HEAD:refs/heads/master v1.2.0-rc1
	clean-release remote setup >../setup.out
	grep "added remote.origin.fetch refs/clean-release/\*:refs/clean-release-remotes/origin/clean-release/\*" ../setup.out
	grep "added remote.origin.push HEAD" ../setup.out
	write_policy ..
	clean-release -q policy publish --policy ../policy.json --registry ../registry.json
	eval "$flow"
	flow c0 v1.2.0-rc1
	test "$(candidate_status c0)" = CHECK_PASSED
	clean-release push 2>../push.err
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$(git rev-parse refs/clean-release/ledger)"
'

test_expect_success 'remote setup writes no forcing refspec, removes the old ones, and is idempotent' '
	cd A
	test -z "$(git config --get-all remote.origin.fetch | grep "^+refs/clean-release")"
	git config --add remote.origin.fetch "+refs/clean-release/*:refs/clean-release/*"
	clean-release remote setup >../setup2.out
	grep "^removed remote.origin.fetch +refs/clean-release/\*:refs/clean-release/\*" ../setup2.out
	test_must_fail grep "^added" ../setup2.out
	test "$(git config --get-all remote.origin.fetch | grep -c clean-release)" = 3
	test_exit 2 clean-release remote setup --remote nowhere
	grep "no git remote \"nowhere\"" "$TRASH/.cr-err"
	test_exit 2 clean-release fetch --remote "../x"
	grep "invalid remote name" "$TRASH/.cr-err"
'

test_expect_success 'clones B and C: clean-release fetch takes the evidence (verified), and verify is clean' '
	for c in B C; do
		git clone -q server.git $c
		(cd $c && git config user.email $(echo $c | tr A-Z a-z)@example.org && clean-release fetch >../fetch-$c.out &&
		 grep "real: ledger created (6 commits verified), policy created, notes created" ../fetch-$c.out &&
		 test "$(candidate_status c0)" = CHECK_PASSED && clean-release verify >/dev/null)
	done
'

test_expect_success 'a plain git fetch (refspecs of remote setup) never overwrites local entries not pushed yet' '
	cd B
	clean-release remote setup -q
	clean-release -q candidate register --candidate-id b-local --version 1 --source-snapshot v1.2.0-rc1
	mine=$(git rev-parse refs/clean-release/ledger)
	(cd ../A && clean-release -q candidate register --candidate-id a-first --version 1 --source-snapshot v1.2.0-rc1 && clean-release -q push)
	git fetch -q origin
	test "$(git rev-parse refs/clean-release/ledger)" = "$mine"
	test "$(git rev-parse refs/clean-release-remotes/origin/clean-release/ledger)" = "$(git -C ../server.git rev-parse refs/clean-release/ledger)"
	clean-release fetch 2>../fetch.err >../fetch.out
	grep "real: ledger diverged" ../fetch.out
	grep "git clean-release sync replays the local operations" ../fetch.err
	test "$(git rev-parse refs/clean-release/ledger)" = "$mine"
	test_exit 5 clean-release push
	grep "git clean-release sync" "$TRASH/.cr-err"
'

test_expect_success 'sync replays the local operations on the server ledger: renumbered, every id unique, verify clean' '
	cd B
	eval "$flow"
	eval "$ids_unique"
	flow b1 v1.2.0-rc1
	(cd ../A && flow a1 v1.2.0-rc1 && clean-release -q release approve --candidate-id a1 --report-id $(clean-release --json candidate show --candidate-id a1 | jq -r .latest_report_id) && clean-release -q push)
	clean-release sync >../sync.out 2>../sync.err
	grep "real: 6 local commits replayed on origin.s ledger: 6 operations replayed, 0 recorded REFUSED" ../sync.out
	grep "in sync with origin" ../sync.out
	test "$(git rev-parse refs/clean-release/ledger)" = "$(git -C ../server.git rev-parse refs/clean-release/ledger)"
	ids_unique
	clean-release candidate list --json | jq -r "[.candidates[].candidate_id] | sort | join(\",\")" >../ids
	test "$(cat ../ids)" = "a-first,a1,b-local,b1,c0"
	test "$(candidate_status b1)" = CHECK_PASSED
	test "$(candidate_status a1)" = APPROVED
	b1=$(clean-release --json candidate show --candidate-id b1)
	rpt=$(echo "$b1" | jq -r .latest_report_id)
	test "$rpt" = rpt-003
	clean-release --json compliance report --run-id $(echo "$b1" | jq -r .latest_run_id) >../b1-report.json
	report_digest_ok ../b1-report.json
	test "$(jq -r .candidate_id ../b1-report.json)" = b1
	clean-release audit log --candidate-id b1 --json | jq -e "[.events[] | select(.details.replayed_from != null)] | length == 5" >/dev/null
	clean-release audit log --candidate-id b1 --json | jq -e ".events[0].details.replayed_commit | test(\"^[0-9a-f]{40}$\")" >/dev/null
	git notes --ref=clean-release show v1.2.0-rc1 >../notes
	grep "^b1: CHECK_PASSED" ../notes
	grep "^a1: APPROVED" ../notes
	clean-release -C ../server.git verify >/dev/null
	(cd ../A && clean-release fetch -q && eval "$ids_unique" && ids_unique && test "$(candidate_status b1)" = CHECK_PASSED)
'

test_expect_success 'an approval the merge made invalid is recorded REFUSED, not replayed; a candidate id taken first too' '
	cd C
	clean-release fetch -q
	rpt=$(clean-release --json candidate show --candidate-id c0 | jq -r .latest_report_id)
	clean-release -q release approve --candidate-id c0 --report-id "$rpt" --comment "from C"
	clean-release -q candidate register --candidate-id same-id --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id same-id --input "$TRASH/art-b1/artifacts.json"
	(cd ../A && clean-release fetch -q && clean-release -q release reject --candidate-id c0 --report-id "$rpt" --comment "from A" &&
	 clean-release -q candidate register --candidate-id same-id --version 2 --source-snapshot v1.2.0-rc1 && clean-release -q push)
	clean-release sync >../sync-c.out
	grep "3 local commits replayed on origin.s ledger: 0 operations replayed, 3 recorded REFUSED" ../sync-c.out
	eval "$ids_unique"
	ids_unique
	test "$(candidate_status c0)" = REJECTED
	clean-release audit log --candidate-id c0 --json >../c0-log.json
	jq -e "[.events[] | select(.type == \"release.approve\" and .outcome == \"REFUSED\")][0].details.error.message | test(\"sync onto origin.s ledger: c0 is REJECTED on the merged ledger; approve needs CHECK_PASSED\")" ../c0-log.json >/dev/null
	jq -e "[.events[] | select(.type == \"release.approve\" and .outcome == \"REFUSED\")][0].details.status == \"REJECTED\"" ../c0-log.json >/dev/null
	clean-release audit log --candidate-id same-id --json >../same-log.json
	jq -e "[.events[] | select(.outcome == \"REFUSED\")] | length == 2" ../same-log.json >/dev/null
	jq -e "[.events[] | select(.type == \"candidate.register\" and .outcome == \"REFUSED\")][0].details.error.code == \"CONFLICT\"" ../same-log.json >/dev/null
	test "$(clean-release --json candidate show --candidate-id same-id | jq -r .version)" = 2
	test "$(clean-release --json candidate show --candidate-id same-id | jq -r .status)" = DRAFT
	clean-release -C ../server.git verify >/dev/null
'

test_expect_success 'two clones appending apart and syncing at the same moment: every candidate on the server, ids unique' '
	for c in D E; do
		git clone -q server.git $c
		(cd $c && git config user.email $c@example.org && clean-release -q remote setup && clean-release -q fetch &&
		 eval "$flow" && for i in 1 2 3; do flow $c-$i v1.2.0-rc1 >/dev/null; done)
	done
	(cd D && clean-release sync >../sync-D.out 2>../sync-D.err) &
	pd=$!
	(cd E && clean-release sync >../sync-E.out 2>../sync-E.err) &
	pe=$!
	wait $pd
	wait $pe
	grep "in sync with origin" sync-D.out
	grep "in sync with origin" sync-E.out
	(cd D && clean-release -q fetch && eval "$ids_unique" && ids_unique)
	(cd E && clean-release -q fetch && eval "$ids_unique" && ids_unique)
	test "$(git -C D rev-parse refs/clean-release/ledger)" = "$(git -C server.git rev-parse refs/clean-release/ledger)"
	test "$(git -C E rev-parse refs/clean-release/ledger)" = "$(git -C server.git rev-parse refs/clean-release/ledger)"
	clean-release -C server.git candidate list --json | jq -r "[.candidates[].candidate_id | select(test(\"^[DE]-\"))] | sort | join(\",\")" >ids
	test "$(cat ids)" = "D-1,D-2,D-3,E-1,E-2,E-3"
	for c in D E; do for i in 1 2 3; do
		test "$(clean-release -C server.git --json candidate show --candidate-id $c-$i | jq -r .status)" = CHECK_PASSED
	done; done
	clean-release -C server.git verify >/dev/null
	for c in A B C; do (cd $c && clean-release -q fetch && eval "$ids_unique" && ids_unique); done
'

test_expect_success 'sync refuses, moving nothing, while a local run is unfinished; after its finish is recorded it syncs' '
	cd B
	clean-release -q fetch
	mkdir -p ../art-hang/dist && printf "x\n" >../art-hang/dist/hang.txt
	printf "{\"artifacts\":[{\"path\":\"dist/hang.txt\"}]}" >../art-hang/artifacts.json
	clean-release -q candidate register --candidate-id hang --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id hang --input ../art-hang/artifacts.json
	clean-release -q manifest build --candidate-id hang
	m=$(clean-release --json candidate show --candidate-id hang | jq -r .latest_manifest_id)
	CR_TEST_WORKER_HANG=dist/hang.txt clean-release --json compliance run --candidate-id hang --manifest-id "$m" --detach >../hang.json
	task=$(jq -r .task_id ../hang.json)
	runner=$(wait_runner "$task")
	(cd ../A && clean-release -q fetch && clean-release -q candidate register --candidate-id a-meanwhile --version 1 --source-snapshot v1.2.0-rc1 && clean-release -q push)
	clean-release -q fetch
	refs_snapshot >../b-before
	test_exit 5 clean-release sync
	grep "is not finished here" "$TRASH/.cr-err"
	grep "task reap" "$TRASH/.cr-err"
	refs_snapshot | grep -v "refs/clean-release-remotes/" >../b-after
	grep -v "refs/clean-release-remotes/" ../b-before >../b-before2
	test_cmp ../b-before2 ../b-after
	pkill -9 -P "$runner" || true
	kill -9 "$runner"
	# Until the reap has recorded the finish: a reader reports the run as
	# ERROR as soon as its runner is gone, which may be before a reap that
	# ran while it was still dying.
	run=$(jq -r .run_id ../hang.json)
	for i in $(seq 100); do
		clean-release --json task reap >../reap.json
		jq -e --arg r "$run" ".reaped | index(\$r)" ../reap.json >/dev/null && break
		sleep 0.1
	done
	jq -e --arg r "$run" ".reaped | index(\$r)" ../reap.json >/dev/null
	test "$(candidate_status hang)" = CHECK_ERROR
	clean-release sync >../sync-hang.out
	grep "in sync with origin" ../sync-hang.out
	eval "$ids_unique"
	ids_unique
	test "$(candidate_status hang)" = CHECK_ERROR
'

test_expect_success 'a fetched ledger that does not verify (a server without the gate, a forged commit) is not taken' '
	git clone -q --mirror server.git nogate.git
	rm -f nogate.git/hooks/pre-receive
	cd A
	clean-release -q fetch
	tip=$(git rev-parse refs/clean-release/ledger)
	rpt=$(git ls-tree -r --name-only "$tip" | grep "/reports/rpt-001.json$")
	git show "$tip:$rpt" | sed "s/\"PASSED\"/\"BLOCKED\"/" >../forged.json
	forged=$(ledger_forge "$tip" --cacheinfo "100644,$(git hash-object -w ../forged.json),$rpt")
	git push -q ../nogate.git "$forged:refs/clean-release/ledger"
	git clone -q ../nogate.git ../F
	cd ../F
	git remote add nogate ../nogate.git
	test_exit 5 clean-release fetch --remote nogate
	grep "the ledger fetched from nogate does not verify, so it was not taken: ledger commit .*$rpt" "$TRASH/.cr-err"
	test_must_fail git rev-parse -q --verify refs/clean-release/ledger
	test "$(git rev-parse refs/clean-release-remotes/nogate/clean-release/ledger)" = "$forged"
'

test_expect_success 'a manifest of an import the merge superseded is REFUSED; a refusal recorded here is carried over as it was' '
	cd A
	clean-release -q fetch
	eval "$flow"
	mkdir -p ../art-m1/dist && printf "one\n" >../art-m1/dist/app.txt
	printf "{\"artifacts\":[{\"path\":\"dist/app.txt\",\"source\":\"build:ci/1\"}]}" >../art-m1/artifacts.json
	clean-release -q candidate register --candidate-id m1 --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id m1 --input ../art-m1/artifacts.json
	clean-release -q push
	cd ../B
	clean-release -q fetch
	test_exit 3 clean-release release approve --candidate-id m1 --report-id rpt-001
	clean-release -q manifest build --candidate-id m1
	(cd ../A && clean-release -q candidate import-artifacts --candidate-id m1 --input ../art-m1/artifacts.json && clean-release -q push)
	clean-release sync >../sync-m.out
	grep "2 local commits replayed on origin.s ledger: 1 operations replayed, 1 recorded REFUSED" ../sync-m.out
	clean-release audit log --candidate-id m1 --json >../m1-log.json
	jq -e "[.events[] | select(.type == \"manifest.build\")][0] | .outcome == \"REFUSED\" and (.details.error.message | test(\"import imp-[0-9]+ is no longer the latest of m1\"))" ../m1-log.json >/dev/null
	jq -e "[.events[] | select(.type == \"release.approve\")][0] | .outcome == \"REFUSED\" and (.details.error.message | test(\"replayed\") | not) and .details.replayed_from != null" ../m1-log.json >/dev/null
	test "$(candidate_status m1)" = PREPARED
	eval "$ids_unique"
	ids_unique
	clean-release -C ../server.git verify >/dev/null
'
