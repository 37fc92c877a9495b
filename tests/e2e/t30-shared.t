#!/bin/sh
# t30-shared: in a repository made with `git init --shared=group`, two users
# of one group, each with umask 077, take turns: every object, directory,
# ref, reflog, task and cache file the tool writes gets git's group
# permissions (core.sharedRepository), so the other's commands, git log of
# the ledger, git fsck and a plain git commit all work.
. "$(dirname "$0")/lib.sh"

# as_user UID CMD... — run CMD as UID of group 3000 with umask 077.
as_user='as_user() {
	u=$1
	shift
	setpriv --reuid=$u --regid=3000 --clear-groups env HOME="$TRASH/home-$u" PATH="$PATH" \
		sh -c "umask 077; exec \"\$@\"" sh "$@"
}'

test_expect_success 'setup: a --shared=group repository of group 3000; two users with their own HOME' '
	chmod 755 "$TRASH"
	git init -q --shared=group shared
	cd shared
	git -c user.name=root -c user.email=root@example.com commit -q --allow-empty -m "base"
	git tag v1.2.0-rc1
	chgrp -R 3000 .
	chmod -R g+rwX .
	find . -type d -exec chmod g+s {} +
	for u in 2001 2002; do
		mkdir -p "$TRASH/home-$u"
		printf "[safe]\n\tdirectory = %s\n[user]\n\tname = u%s\n\temail = u%s@example.com\n" "$(pwd)" $u $u \
			>"$TRASH/home-$u/.gitconfig"
		chown -R $u:3000 "$TRASH/home-$u"
	done
	mkdir -p art/dist
	printf "console.log(1);\n" >art/dist/app.js
	printf "dist/app.js build:acme-ci/web/1\n" | artifacts_doc >art/artifacts.json
	acme_policy pol
	chgrp -R 3000 art pol
	chmod -R g+rX art pol
'

test_expect_success 'user 2001 publishes the policy and prepares a candidate; user 2002 runs it, approves it and writes the next' '
	'"$as_user"'
	cd shared
	as_user 2001 clean-release -q policy publish --policy pol/policy.json --registry pol/registry.json --actor u2001
	as_user 2001 clean-release -q candidate register --candidate-id s1 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor u2001
	as_user 2002 clean-release -q candidate import-artifacts --candidate-id s1 --input art/artifacts.json --actor u2002
	as_user 2001 clean-release -q manifest build --candidate-id s1 --actor u2001
	as_user 2002 clean-release -q compliance run --candidate-id s1 --manifest-id man-001 --actor u2002 --jobs 2
	as_user 2001 clean-release -q release approve --candidate-id s1 --report-id rpt-001 --actor u2001
	as_user 2002 clean-release -q candidate register --candidate-id s2 --version 2.0.0 --source-snapshot HEAD --actor u2002
	test "$(candidate_status s1)" = APPROVED
	as_user 2001 clean-release verify
'

test_expect_success 'everything the tool wrote is readable and (directories) writable by the group, as git makes them' '
	cd shared
	find .git/objects .git/refs .git/logs .git/clean-release -newer .git/description ! -perm -g+r >../unreadable
	test_cmp /dev/null ../unreadable
	find .git/objects .git/refs .git/logs .git/clean-release -newer .git/description -type d ! -perm -g+w >../unwritable
	test_cmp /dev/null ../unwritable
	test "$(git config core.sharedRepository)" = 1
'

test_expect_success 'a teammate sees the ledger with git log, git fsck is clean for them, and their own git commit works' '
	'"$as_user"'
	cd shared
	test "$(as_user 2002 git log --format=%s refs/clean-release/ledger | wc -l)" -ge 7
	as_user 2002 git fsck --no-progress
	as_user 2001 git commit -q --allow-empty -m "a teammate commit"
	as_user 2002 git commit -q --allow-empty -m "another"
	test "$(as_user 2002 git log --format=%s -1)" = another
'
