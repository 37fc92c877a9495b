#!/bin/sh
# t27-repositories: the repository cannot always be opened or written, and
# the error says why and what to do: SHA-256 object names, a repository of
# another user, a shallow clone; and a work tree given by GIT_WORK_TREE or
# git --work-tree simply works (the tool needs none).
. "$(dirname "$0")/lib.sh"

test_expect_success 'a repository with SHA-256 object names: exit 2 saying so, not "not a git repository"' '
	git init -q --object-format=sha256 sha
	cd sha
	# Under SANITIZE=1 the leak libgit2 has on this path is suppressed by
	# name (tests/lsan.supp), which needs whole stacks.
	test_exit 2 env LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}fast_unwind_on_malloc=0" clean-release candidate list
	grep "uses SHA-256 object names (extensions.objectFormat)" "$TRASH/.cr-err"
	! grep "not a git repository" "$TRASH/.cr-err"
'

test_expect_success 'a repository owned by another user: exit 2 naming it and the exact safe.directory entry that works' '
	new_repo mine
	cd mine
	chmod 755 "$TRASH"
	mkdir -p ../nobody-home
	chmod 755 ../nobody-home
	as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$TRASH/nobody-home"
	test_exit 2 $as_nobody clean-release candidate list
	grep "the repository $(pwd -P) is owned by another user (uid 0)" "$TRASH/.cr-err"
	grep "git config --global --add safe.directory $(pwd -P)\$" "$TRASH/.cr-err"
	# The command the hint names is the one that works.
	entry=$(sed -n "s/.*git config --global --add safe.directory //p" "$TRASH/.cr-err")
	printf "[safe]\n\tdirectory = %s\n" "$entry" >../nobody-home/.gitconfig
	chmod 644 ../nobody-home/.gitconfig
	test_exit 0 $as_nobody clean-release candidate list
'

test_expect_success 'GIT_WORK_TREE and git --work-tree simply work' '
	new_repo wt
	cd wt
	GIT_WORK_TREE=. clean-release -q candidate register --candidate-id w1 --version 1 --source-snapshot HEAD --actor a
	GIT_DIR=.git GIT_WORK_TREE=. clean-release -q candidate register --candidate-id w2 --version 1 --source-snapshot HEAD --actor a
	git --work-tree=. clean-release candidate list --json >../wt.json
	test "$(jq -r "[.candidates[].candidate_id] | sort | join(\" \")" ../wt.json)" = "w1 w2"
	git --work-tree=. clean-release verify
'

test_expect_success 'a shallow clone: verify says the ledger is incomplete because the clone is shallow; writes are refused until unshallowed' '
	new_repo full
	cd full
	for i in 1 2 3; do
		clean-release -q candidate register --candidate-id s$i --version 1 --source-snapshot HEAD --actor a
	done
	cd ..
	git clone -q --depth 1 "file://$TRASH/full" shallow
	cd shallow
	git fetch -q --depth 1 origin "refs/clean-release/*:refs/clean-release/*"
	test -f .git/shallow
	test_exit 5 clean-release verify
	grep "the ledger is incomplete: this clone is shallow" "$TRASH/.cr-err"
	grep "git fetch --unshallow" "$TRASH/.cr-err"
	before=$(git rev-parse refs/clean-release/ledger)
	test_exit 5 clean-release candidate register --candidate-id s9 --version 1 --source-snapshot HEAD --actor a
	grep "this clone is shallow" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
	git fetch -q --unshallow origin "refs/clean-release/*:refs/clean-release/*"
	test_exit 0 clean-release verify
	clean-release -q candidate register --candidate-id s9 --version 1 --source-snapshot HEAD --actor a
'
