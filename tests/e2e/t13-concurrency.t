#!/bin/sh
# t13-concurrency: concurrent writers never lose, duplicate or corrupt
# evidence, and a writer killed at any moment leaves a ledger that verifies.
. "$(dirname "$0")/lib.sh"

test_expect_success '20 concurrent registrations of different ids all exit 0' '
	new_repo par
	cd par
	for i in $(seq -w 1 20); do
		( set +e; clean-release candidate register --candidate-id p$i --version 1.0.$i \
		    --source-snapshot v1.2.0-rc1 --actor "bot$i" >../reg.$i.out 2>../reg.$i.err
		  echo $? >../reg.$i.rc ) &
	done
	wait
	for i in $(seq -w 1 20); do
		if [ "$(cat ../reg.$i.rc)" != 0 ]; then
			echo "p$i: exit $(cat ../reg.$i.rc): $(cat ../reg.$i.err)" >&2
			false
		fi
	done
'

test_expect_success '... and candidate list --json shows exactly those 20 candidates, each as registered' '
	cd par
	clean-release candidate list --json >../list.json
	validate_openapi CandidateList ../list.json
	jq -r ".candidates[] | [.candidate_id, .version, .created_by, .status] | join(\" \")" ../list.json | sort >../list.txt
	for i in $(seq -w 1 20); do echo "p$i 1.0.$i bot$i DRAFT"; done >../list.expect
	test_cmp ../list.expect ../list.txt
'

test_expect_success '... and the status note on the source commit has one DRAFT line for each of the 20' '
	cd par
	git log --notes=clean-release -1 --format=%N v1.2.0-rc1 | grep . | sort >../note
	test "$(wc -l <../note)" = 20
	for i in $(seq -w 1 20); do grep "^p$i: DRAFT" ../note; done >/dev/null
'

test_expect_success '... with 20 ACCEPTED candidate.register audit events, 20 distinct event ids' '
	cd par
	clean-release audit log --json >../audit.json
	validate_openapi AuditEventList ../audit.json
	test "$(jq "[.events[] | select(.type == \"candidate.register\" and .outcome == \"ACCEPTED\")] | length" ../audit.json)" = 20
	test "$(jq ".events | length" ../audit.json)" = 20
	jq -r ".events[].event_id" ../audit.json | sort -u >../ids
	test "$(wc -l <../ids)" = 20
	jq -r ".events[].candidate_id" ../audit.json | sort -u >../cids
	test "$(wc -l <../cids)" = 20
	test "$(git rev-list --count refs/clean-release/ledger)" = 20
'

test_expect_success '... and verify is clean' '
	cd par
	test_exit 0 clean-release verify
'

test_expect_success '20 concurrent registrations of the SAME id: exactly one exit 0, nineteen exit 5, one candidate' '
	new_repo same
	cd same
	clean-release candidate register --candidate-id first --version 1 --source-snapshot HEAD --actor bot -q
	clean-release audit log --json >../audit0.json
	test "$(jq ".events | length" ../audit0.json)" = 1
	for i in $(seq -w 1 20); do
		( set +e; clean-release candidate register --candidate-id dup --version 1.0.$i \
		    --source-snapshot v1.2.0-rc1 --actor "bot$i" >../dup.$i.out 2>../dup.$i.err
		  echo $? >../dup.$i.rc ) &
	done
	wait
	cat ../dup.*.rc | sort | uniq -c | awk "{ print \$1, \$2 }" >../dup.codes
	printf "1 0\n19 5\n" >../dup.expect
	test_cmp ../dup.expect ../dup.codes
	winner=$(grep -l "^0\$" ../dup.*.rc | sed "s/.*dup\.\(.*\)\.rc/\1/")
	clean-release candidate list --json >../list.json
	test "$(jq -r "[.candidates[] | select(.candidate_id == \"dup\") | .candidate_id + \" \" + .version + \" \" + .created_by] | join(\",\")" ../list.json)" = "dup 1.0.$winner bot$winner"
	test "$(jq ".candidates | length" ../list.json)" = 2
	clean-release audit log --json >../audit.json
	test "$(jq ".events | length" ../audit.json)" = 2
	test "$(git rev-list --count refs/clean-release/ledger)" = 2
	for f in ../dup.*.err; do
		[ -s "$f" ] || continue
		check_one_error "$f"
	done
	test_exit 0 clean-release verify
'

test_expect_success 'the first write to an empty ledger has exactly one winner (15 rounds of 20 racing registrations)' '
	for r in $(seq 1 15); do
		rm -rf first
		new_repo first
		(
		cd first
		for i in $(seq -w 1 20); do
			( set +e; clean-release candidate register --candidate-id dup --version 1.0.$i \
			    --source-snapshot v1.2.0-rc1 --actor "bot$i" >../first.$i.out 2>../first.$i.err
			  echo $? >../first.$i.rc ) &
		done
		wait
		winners=$(grep -l "^0\$" ../first.*.rc | sed "s/.*first\.\(.*\)\.rc/\1/" | tr "\n" " ")
		recorded=$(clean-release candidate show --candidate-id dup --json | jq -r .version)
		if [ "$winners" != "${recorded#1.0.} " ]; then
			echo "round $r: exit 0 for bot $winners but the ledger records version $recorded" >&2
			grep . ../first.*.out >&2
			false
		fi
		test "$(git rev-list --count refs/clean-release/ledger)" = 1
		test "$(git notes --ref=clean-release list | wc -l)" = 1
		test "$(git rev-list --count refs/notes/clean-release)" = 1
		)
	done
'

test_expect_success '8 concurrent manifest builds on 8 imported candidates get man-001..man-008, one each' '
	new_repo man
	cd man
	mkdir -p in/dist
	printf "payload\n" >in/dist/f.txt
	printf "{\"artifacts\":[{\"path\":\"dist/f.txt\"}]}" >in/a.json
	for i in 1 2 3 4 5 6 7 8; do
		clean-release candidate register --candidate-id m$i --version 1 --source-snapshot HEAD --actor bot -q
		clean-release candidate import-artifacts --candidate-id m$i --input in/a.json --actor bot -q
	done
	for i in 1 2 3 4 5 6 7 8; do
		( set +e; clean-release manifest build --candidate-id m$i --actor bot --json >../mb.$i.json 2>../mb.$i.err
		  echo $? >../mb.$i.rc ) &
	done
	wait
	cat ../mb.*.rc | sort -u >../mb.codes
	echo 0 >../mb.expect
	test_cmp ../mb.expect ../mb.codes
	for i in 1 2 3 4 5 6 7 8; do jq -r .manifest_id ../mb.$i.json; done | sort >../mids
	for i in 1 2 3 4 5 6 7 8; do echo man-00$i; done >../mids.expect
	test_cmp ../mids.expect ../mids
	for i in 1 2 3 4 5 6 7 8; do
		test "$(clean-release candidate show --candidate-id m$i --json | jq -r .latest_manifest_id)" = "$(jq -r .manifest_id ../mb.$i.json)"
		test "$(clean-release manifest show --manifest-id "$(jq -r .manifest_id ../mb.$i.json)" --json | jq -r .candidate_id)" = m$i
	done
	test_exit 0 clean-release verify
'

test_expect_success 'kill -9 of a writer at random moments, 24 rounds: verify is clean after every round' '
	new_repo kill
	cd kill
	mkdir -p in/dist
	head -c 4M /dev/urandom >in/dist/big.bin
	printf "small\n" >in/dist/small.txt
	printf "{\"artifacts\":[{\"path\":\"dist/big.bin\"},{\"path\":\"dist/small.txt\"}]}" >in/a.json
	clean-release candidate register --candidate-id target --version 1 --source-snapshot HEAD --actor bot -q
	: >../kill.log
	for r in $(seq 1 24); do
		if [ $((r % 2)) = 0 ]; then
			clean-release candidate import-artifacts --candidate-id target --input in/a.json --actor bot -q 2>/dev/null &
		else
			clean-release candidate register --candidate-id k$r --version 1 --source-snapshot HEAD --actor bot -q 2>/dev/null &
		fi
		pid=$!
		sleep "$(printf "0.%03d" $(( $(random_u16) % 60 )))"
		kill -9 $pid 2>/dev/null || true
		set +e
		wait $pid
		echo "round $r: exit $?" >>../kill.log
		set -e
		if ! clean-release verify >../verify.out 2>../verify.err; then
			echo "verify failed after round $r:" >&2
			cat ../verify.err ../kill.log >&2
			false
		fi
	done
	cat ../kill.log
	grep -q "exit 137" ../kill.log
'

test_expect_success '... the ledger still accepts writes, and a ref lock a killed writer left is recovered' '
	cd kill
	# kill -9 between taking a ref lock and renaming it leaves the lock
	# behind (git does too); the next writer removes it once it is stale.
	clean-release candidate register --candidate-id after-kills --version 1 --source-snapshot HEAD --actor bot -q
	find .git/refs -name "*.lock" >../locks
	test_cmp /dev/null ../locks
	clean-release candidate import-artifacts --candidate-id after-kills --input in/a.json --actor bot -q
	clean-release manifest build --candidate-id after-kills --actor bot -q
	test "$(clean-release candidate show --candidate-id after-kills --json | jq -r .status)" = MANIFEST_BUILT
	test_exit 0 clean-release verify
'

test_expect_success 'a stale ref lock (a writer killed while holding it) does not block writers forever' '
	cd kill
	: >.git/refs/clean-release/ledger.lock
	touch -d "1 minute ago" .git/refs/clean-release/ledger.lock
	clean-release candidate register --candidate-id after-stale-lock --version 1 --source-snapshot HEAD --actor bot -q
	test ! -e .git/refs/clean-release/ledger.lock
	test_exit 0 clean-release verify
'

test_expect_success '... and every killed registration either fully exists or not at all' '
	cd kill
	clean-release candidate list --json >../list.json
	clean-release audit log --json >../audit.json
	jq -r ".candidates[].candidate_id" ../list.json | sort >../cands
	jq -r ".events[] | select(.type == \"candidate.register\") | .candidate_id" ../audit.json | sort >../reg-events
	test_cmp ../cands ../reg-events
	for c in $(cat ../cands); do
		test "$(clean-release candidate show --candidate-id $c --json | jq -r .candidate_id)" = $c
	done
'
