#!/bin/sh
# t50-hooks: the server's pre-receive gate on a real bare repository and its
# clones, over file:// and over git daemon on loopback; the client's pre-push.
. "$(dirname "$0")/lib.sh"

push_evidence='git push origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"'
server_refs='git -C "$TRASH/server.git" for-each-ref --format="%(refname) %(objectname)" | sort'
export push_evidence server_refs

test_expect_success 'setup: hook install --server in a bare repository; clone A checks candidate c1 (PASSED) and pushes it' '
	git init -q --bare server.git
	(cd server.git && clean-release hook install --server >../install.out)
	grep "^installed .*server.git/hooks/pre-receive$" install.out
	test -x server.git/hooks/pre-receive
	grep -x "exec git clean-release hook pre-receive" server.git/hooks/pre-receive
	(cd server.git && clean-release hook install --server) | grep "installed already"
	git clone -q "file://$TRASH/server.git" A 2>/dev/null
	test "$(git -C A remote get-url origin)" = "file://$TRASH/server.git"
	cd A
	git config user.email release-bot@example.org
	echo hello >README && git add README && git commit -q -m init && git tag v1.2.0-rc1
	git push -q origin HEAD:refs/heads/main v1.2.0-rc1
	write_policy ..
	clean-release -q policy publish --policy ../policy.json --registry ../registry.json --actor release-owner
	mkdir -p ../art/dist && printf "clean\n" >../art/dist/app.txt
	printf "{\"artifacts\":[{\"path\":\"dist/app.txt\",\"source\":\"build:ci/1\"}]}" >../art/artifacts.json
	clean-release -q candidate register --candidate-id c1 --version 1.2.0 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c1 --input ../art/artifacts.json
	clean-release -q manifest build --candidate-id c1
	clean-release -q compliance run --candidate-id c1 --manifest-id man-001 --jobs 1
	test "$(candidate_status c1)" = CHECK_PASSED
	eval "$push_evidence" 2>../push.err
	grep "remote: clean-release: ok: 6 ledger commits" ../push.err
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$(git rev-parse refs/clean-release/ledger)"
	clean-release -C ../server.git verify
'

# refused CMD... — CMD (a push) fails, the server's refs are unchanged, and
# its stderr (in $TRASH/.cr-err) says clean-release refused it.
refused='refused() {
	eval "$server_refs" >"$TRASH/.srv-before"
	test_exit 1 "$@"
	eval "$server_refs" >"$TRASH/.srv-after"
	test_cmp "$TRASH/.srv-before" "$TRASH/.srv-after"
	grep "remote: clean-release: the push is refused" "$TRASH/.cr-err"
	grep "pre-receive hook declined" "$TRASH/.cr-err"
}'
export refused

test_expect_success 'a force-push rewinding the ledger is refused, with what to do, and the server is unchanged' '
	cd A
	eval "$refused"
	refused git push -f origin "refs/clean-release/ledger~2:refs/clean-release/ledger"
	grep "refused refs/clean-release/ledger: rewinds refs/clean-release/ledger" "$TRASH/.cr-err"
	grep "what to do: git clean-release sync" "$TRASH/.cr-err"
	refused git push -f origin "refs/clean-release/policy:refs/notes/clean-release"
	grep "rewinds refs/notes/clean-release" "$TRASH/.cr-err"
'

test_expect_success 'deleting a clean-release ref is refused (ledger, policy, notes)' '
	cd A
	eval "$refused"
	for r in refs/clean-release/ledger refs/clean-release/policy refs/notes/clean-release; do
		refused git push origin ":$r"
		grep "refused $r: deletes $r: clean-release refs are append-only" "$TRASH/.cr-err"
	done
'

test_expect_success 'a ledger commit that edits an existing report is refused, naming the path' '
	cd A
	eval "$refused"
	tip=$(git rev-parse refs/clean-release/ledger)
	rpt=$(git ls-tree -r --name-only "$tip" | grep "/reports/rpt-001.json$")
	git show "$tip:$rpt" | sed "s/\"PASSED\"/\"BLOCKED\"/" >../edited.json
	blob=$(git hash-object -w ../edited.json)
	forged=$(ledger_forge "$tip" --cacheinfo "100644,$blob,$rpt")
	refused git push origin "$forged:refs/clean-release/ledger"
	grep "refused refs/clean-release/ledger: the ledger it pushes is not valid: ledger commit .*$rpt" "$TRASH/.cr-err"
	! git -C ../server.git cat-file -e "$forged" 2>/dev/null
'

test_expect_success 'a ledger commit whose parent is not the server tip, or a merge, is refused' '
	cd A
	eval "$refused"
	tip=$(git rev-parse refs/clean-release/ledger)
	side=$(git log -1 --format=%B "$tip" | git commit-tree "$tip^{tree}" -p "$tip~1")
	refused git push -f origin "$side:refs/clean-release/ledger"
	grep "rewinds refs/clean-release/ledger: .* does not descend from the server" "$TRASH/.cr-err"
	merge=$(git log -1 --format=%B "$tip" | git commit-tree "$tip^{tree}" -p "$tip" -p "$side")
	refused git push origin "$merge:refs/clean-release/ledger"
	grep "is a merge; the ledger is a linear chain" "$TRASH/.cr-err"
'

test_expect_success 'a malformed policy, or one the ledger does not record, is refused' '
	cd A
	eval "$refused"
	p=$(git rev-parse refs/clean-release/policy)
	git show "$p:policy.json" | jq -c "del(.release_tag_pattern)" >../bad-policy.json
	GIT_INDEX_FILE=../pidx git read-tree "$p"
	GIT_INDEX_FILE=../pidx git update-index --cacheinfo "100644,$(git hash-object -w ../bad-policy.json),policy.json"
	bad=$(echo "bad policy" | git commit-tree "$(GIT_INDEX_FILE=../pidx git write-tree)" -p "$p")
	refused git push origin "$bad:refs/clean-release/policy"
	grep "refused refs/clean-release/policy: the policy it pushes is not valid: .*release_tag_pattern" "$TRASH/.cr-err"
	git show "$p:policy.json" | jq -c ".version = 2" >../v2-raw.json
	canon canonical ../v2-raw.json >../v2-policy.json
	GIT_INDEX_FILE=../pidx git update-index --cacheinfo "100644,$(git hash-object -w ../v2-policy.json),policy.json"
	unrecorded=$(echo "v2 by hand" | git commit-tree "$(GIT_INDEX_FILE=../pidx git write-tree)" -p "$p")
	refused git push origin "$unrecorded:refs/clean-release/policy"
	grep "but the ledger records $(git rev-parse --short=12 "$p") as the policy in force" "$TRASH/.cr-err"
'

test_expect_success 'a ref of its own under the evidence namespaces is refused; branches and rc tags pass untouched' '
	cd A
	eval "$refused"
	refused git push origin "HEAD:refs/clean-release/extra"
	grep "refs/clean-release/extra is not a clean-release ref" "$TRASH/.cr-err"
	refused git push origin "HEAD:refs/clean-release-remotes/origin/ledger"
	git commit -q --allow-empty -m work
	git tag v1.2.0-rc2
	git push -q origin HEAD:refs/heads/topic v1.2.0-rc2
	git -C ../server.git rev-parse -q --verify refs/tags/v1.2.0-rc2
'

test_expect_success 'a release tag at a commit no candidate is APPROVED for is refused, naming the candidate and status' '
	cd A
	eval "$refused"
	git tag v1.2.0 v1.2.0-rc1
	refused git push origin v1.2.0
	grep "refused refs/tags/v1.2.0: release tag refs/tags/v1.2.0 points at $(git rev-parse --short=12 v1.2.0-rc1), which is the source commit of no APPROVED or PUBLISHED candidate (c1 is CHECK_PASSED)" "$TRASH/.cr-err"
	grep "what to do: approve it on its passed report" "$TRASH/.cr-err"
	git tag -a -m annotated v1.2.1 HEAD
	refused git push origin v1.2.1
	grep "source commit of no APPROVED or PUBLISHED candidate *$" "$TRASH/.cr-err"
'

test_expect_success 'the same tag is accepted in one push with the approval that makes it valid' '
	cd A
	clean-release -q release approve --candidate-id c1 --report-id rpt-001 --actor approver@example.org
	git push origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release" v1.2.0 2>../one-push.err
	git -C ../server.git rev-parse -q --verify refs/tags/v1.2.0
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$(git rev-parse refs/clean-release/ledger)"
'

test_expect_success 'a release tag is accepted after its approval was pushed on its own' '
	cd A
	echo two >>README && git commit -q -a -m two && git tag v1.3.0-rc1
	clean-release -q candidate register --candidate-id c2 --version 1.3.0 --source-snapshot v1.3.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c2 --input ../art/artifacts.json
	clean-release -q manifest build --candidate-id c2
	clean-release -q compliance run --candidate-id c2 --manifest-id man-002 --jobs 1
	clean-release -q release approve --candidate-id c2 --report-id rpt-002 --actor approver@example.org
	git push -q origin HEAD:refs/heads/main v1.3.0-rc1
	eval "$push_evidence" 2>/dev/null
	git tag v1.3.0 v1.3.0-rc1
	git push -q origin v1.3.0
	git -C ../server.git rev-parse -q --verify refs/tags/v1.3.0
	clean-release -C ../server.git verify
'

test_expect_success 'pre-receive reading bad input is one error line; a read-only server repository is read only' '
	cd server.git
	test_exit 2 sh -c "echo garbage | clean-release hook pre-receive"
	check_one_error "$TRASH/.cr-err"
	grep "not an \"<old> <new> <ref>\" line: garbage" "$TRASH/.cr-err"
	z=0000000000000000000000000000000000000000
	test_exit 0 sh -c "echo $z $z refs/heads/nothing | clean-release hook pre-receive"
	test_exit 1 sh -c "echo $(git rev-parse refs/clean-release/ledger) $z refs/clean-release/ledger | clean-release hook pre-receive"
	grep "deletes refs/clean-release/ledger" "$TRASH/.cr-err"
'

test_expect_success 'over git daemon (git://, receive-pack on loopback): each refusal again, a forward push accepted' '
	port=0
	for i in 1 2 3 4 5 6 7 8; do
		port=$((20000 + $(random_u16) % 40000))
		git daemon --listen=127.0.0.1 --port=$port --base-path="$TRASH" --export-all --enable=receive-pack \
			--reuseaddr --pid-file="$TRASH/daemon.pid" --detach "$TRASH" 2>>daemon.err || continue
		for j in $(seq 50); do git ls-remote "git://127.0.0.1:$port/server.git" >/dev/null 2>&1 && break; sleep 0.1; done
		git ls-remote "git://127.0.0.1:$port/server.git" >/dev/null 2>&1 && break
		kill "$(cat daemon.pid)" 2>/dev/null || true
	done
	cat daemon.pid >>"$TRASH/.kill-at-exit"
	git clone -q "git://127.0.0.1:$port/server.git" D
	cd D
	git config user.email d@example.org
	git fetch -q origin "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"
	eval "$refused"
	refused git push -f origin "refs/clean-release/ledger~1:refs/clean-release/ledger"
	grep "rewinds refs/clean-release/ledger" "$TRASH/.cr-err"
	refused git push origin ":refs/notes/clean-release"
	grep "deletes refs/notes/clean-release" "$TRASH/.cr-err"
	tip=$(git rev-parse refs/clean-release/ledger)
	rpt=$(git ls-tree -r --name-only "$tip" | grep "/reports/rpt-001.json$")
	git show "$tip:$rpt" | sed "s/\"PASSED\"/\"BLOCKED\"/" >../edited-d.json
	forged=$(ledger_forge "$tip" --cacheinfo "100644,$(git hash-object -w ../edited-d.json),$rpt")
	refused git push origin "$forged:refs/clean-release/ledger"
	grep "the ledger it pushes is not valid: ledger commit .*$rpt" "$TRASH/.cr-err"
	side=$(git log -1 --format=%B "$tip" | git commit-tree "$tip^{tree}" -p "$tip~1")
	refused git push -f origin "$side:refs/clean-release/ledger"
	grep "does not descend from the server" "$TRASH/.cr-err"
	p=$(git rev-parse refs/clean-release/policy)
	GIT_INDEX_FILE=../pidx-d git read-tree "$p"
	GIT_INDEX_FILE=../pidx-d git update-index --cacheinfo "100644,$(git hash-object -w ../bad-policy.json),policy.json"
	bad=$(echo "bad policy" | git commit-tree "$(GIT_INDEX_FILE=../pidx-d git write-tree)" -p "$p")
	refused git push origin "$bad:refs/clean-release/policy"
	grep "the policy it pushes is not valid" "$TRASH/.cr-err"
	clean-release -q candidate register --candidate-id d1 --version 1 --source-snapshot origin/main
	git push -q origin "refs/clean-release/ledger:refs/clean-release/ledger"
	test "$(git -C ../server.git rev-parse refs/clean-release/ledger)" = "$(git rev-parse refs/clean-release/ledger)"
	git checkout -q -b work origin/main && git commit -q --allow-empty -m unchecked
	git tag v9.9.9
	refused git push origin v9.9.9
	grep "release tag refs/tags/v9.9.9" "$TRASH/.cr-err"
'

test_expect_success 'pre-push (hook install in a clone) refuses an unapproved release tag before anything leaves' '
	cd A
	clean-release hook install >../pp.out
	grep "installed .*/.git/hooks/pre-push$" ../pp.out
	echo three >>README && git commit -q -a -m three
	git tag v1.4.0
	eval "$server_refs" >../before
	test_exit 1 git push origin v1.4.0
	grep "^clean-release: refused refs/tags/v1.4.0: release tag" "$TRASH/.cr-err"
	test_must_fail grep "remote:" "$TRASH/.cr-err"
	eval "$server_refs" >../after
	test_cmp ../before ../after
	git tag v1.3.1-rc1 && git push -q origin v1.3.1-rc1
'

test_expect_success 'hook install leaves a hook of another program alone unless --force' '
	git init -q other
	cd other
	printf "#!/bin/sh\nexit 0\n" >.git/hooks/pre-push
	test_exit 5 clean-release hook install
	grep "is not clean-release.s hook" "$TRASH/.cr-err"
	grep -x "exit 0" .git/hooks/pre-push
	clean-release hook install --force
	grep -x "exec git clean-release hook pre-push" .git/hooks/pre-push
	git init -q --bare ../bare2.git
	test_exit 2 clean-release -C ../bare2.git hook install
	grep "bare: a pre-push hook belongs in a clone" "$TRASH/.cr-err"
'
