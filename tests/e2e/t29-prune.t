#!/bin/sh
# t29-prune: every move of a clean-release ref is kept in its reflog; when a
# ledger commit is gone (git prune --expire=now racing a writer), verify
# names the reflog's last whole tip and `repair --to` restores it, appending
# nothing and refusing anything else.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: three candidates; every clean-release ref has a reflog' '
	new_repo repo
	cd repo
	publish_acme_policy
	for i in 1 2 3; do
		clean-release -q candidate register --candidate-id p$i --version 1 --source-snapshot HEAD --actor a
	done
	test "$(git reflog show --format=%H refs/clean-release/ledger | wc -l)" = "$(git rev-list --count refs/clean-release/ledger)"
	test "$(git reflog show --format=%H refs/clean-release/ledger | head -1)" = "$(git rev-parse refs/clean-release/ledger)"
	git reflog show refs/clean-release/policy >/dev/null
	test -s .git/logs/refs/clean-release/policy
'

test_expect_success 'the tip commit pruned away: verify exit 5 naming the last whole tip of the reflog and the repair command' '
	cd repo
	good=$(git rev-parse refs/clean-release/ledger~1)
	echo $good >../good
	tip=$(git rev-parse refs/clean-release/ledger)
	cp .git/objects/$(echo $tip | cut -c1-2)/$(echo $tip | cut -c3-) ../tip.obj
	rm -f .git/objects/$(echo $tip | cut -c1-2)/$(echo $tip | cut -c3-)
	test_exit 5 clean-release verify
	grep "ledger commit $(echo $tip | cut -c1-12) is missing" "$TRASH/.cr-err"
	grep "git clean-release repair --to $good\$" "$TRASH/.cr-err"
	test_exit 5 clean-release candidate list
	grep "git clean-release verify says what is wrong" "$TRASH/.cr-err"
'

test_expect_success 'repair refuses a commit that was never a tip and the tip it is at; then restores the named tip, appending nothing' '
	cd repo
	good=$(cat ../good)
	test_exit 2 clean-release repair --to HEAD
	grep "was never a tip" "$TRASH/.cr-err"
	clean-release repair --to $good >../repair.out
	grep "ledger restored to $good: 3 commits verified" ../repair.out
	test "$(git rev-parse refs/clean-release/ledger)" = "$good"
	test_exit 0 clean-release verify
	test_exit 2 clean-release repair --to $good
	grep "the ledger is at" "$TRASH/.cr-err"
	clean-release -q candidate register --candidate-id p4 --version 1 --source-snapshot HEAD --actor a
	test_exit 0 clean-release verify
	test "$(clean-release candidate list --json | jq -r "[.candidates[].candidate_id] | sort | join(\" \")")" = "p1 p2 p4"
	git fsck --no-progress >/dev/null
'

test_expect_success 'repair refuses a ledger that verifies (it would lose evidence)' '
	cd repo
	old=$(git rev-parse refs/clean-release/ledger~1)
	test_exit 2 clean-release repair --to $old
	grep "the ledger verifies: nothing to repair" "$TRASH/.cr-err"
'

test_expect_success 'git prune --expire=now racing a writer: afterwards the ledger verifies, or repair restores one that does' '
	cd repo
	( while [ ! -f ../stop-prune ]; do git prune --expire=now 2>/dev/null; done ) &
	pruner=$!
	for i in $(seq 1 15); do
		clean-release -q candidate register --candidate-id r$i --version 1 --source-snapshot HEAD --actor a 2>>../race.err || :
	done
	touch ../stop-prune
	wait $pruner || :
	if ! clean-release verify 2>../race-verify.err; then
		to=$(sed -n "s/.*git clean-release repair --to //p" ../race-verify.err)
		test -n "$to"
		clean-release repair --to $to
	fi
	test_exit 0 clean-release verify
	# The next write heals the status notes (a derived view) if their tip
	# went too. A prune that raced past the last check may have taken a
	# commit a reflog entry names: git drops such entries itself.
	clean-release -q candidate register --candidate-id after-race --version 1 --source-snapshot HEAD --actor a
	test_exit 0 clean-release verify
	git reflog expire --stale-fix --expire=never --all
	# What the race left unreachable may have lost part of itself to the
	# pruner (a tree written after its scan, a subtree before it), as with
	# git itself; a prune with no writer running takes it all, and then
	# everything reachable is whole.
	git prune --expire=now
	git fsck --no-progress
'
