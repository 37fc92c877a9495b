#!/bin/sh
# t12-ledger: the evidence ledger is an append-only chain of commits that
# anyone can check with plain git, and `verify` catches every hand-made edit.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a flow with three candidates, four imports, five manifests and a policy (13 operations)' '
	new_repo repo
	cd repo
	mkdir -p a/dist
	printf "one\n" >a/dist/one.txt
	printf "two two\n" >a/dist/two.txt
	printf "{\"artifacts\":[{\"path\":\"dist/two.txt\",\"source\":\"build:ci/2\"},{\"path\":\"dist/one.txt\"}]}" >a/artifacts.json
	: >../ops
	op() { # op TYPE CANDIDATE ACTOR CLI-ARGS...
		echo "$3 $1 $2" >>../ops
		t=$1 c=$2 a=$3
		shift 3
		clean-release "$@" --actor "$a" -q
	}
	op candidate.register c1 alice candidate register --candidate-id c1 --version 1.0.0 --source-snapshot v1.2.0-rc1
	op candidate.register c2 bob candidate register --candidate-id c2 --version 2.0.0 --source-snapshot HEAD
	op candidate.import_artifacts c1 alice candidate import-artifacts --candidate-id c1 --input a/artifacts.json
	op candidate.register c3 carol candidate register --candidate-id c3 --version 3.0.0 --source-snapshot master
	op candidate.import_artifacts c2 bob candidate import-artifacts --candidate-id c2 --input a/artifacts.json
	op manifest.build c1 alice manifest build --candidate-id c1
	op manifest.build c1 carol manifest build --candidate-id c1
	op candidate.import_artifacts c1 bob candidate import-artifacts --candidate-id c1 --input a/artifacts.json
	op manifest.build c1 alice manifest build --candidate-id c1
	op manifest.build c2 bob manifest build --candidate-id c2
	op candidate.import_artifacts c3 carol candidate import-artifacts --candidate-id c3 --input a/artifacts.json
	op manifest.build c3 carol manifest build --candidate-id c3
	write_policy ..
	clean-release policy publish --policy ../policy.json --registry ../registry.json --actor dave -q
	echo "dave policy.publish -" >>../ops
	test "$(wc -l <../ops)" = 13
	test "$(clean-release candidate show --candidate-id c1 --json | jq -r .latest_manifest_id)" = man-003
'

test_expect_success 'git log of the ledger shows one commit per operation, oldest first, with the actor as author' '
	cd repo
	test "$(git rev-list --count refs/clean-release/ledger)" = 13
	git log --reverse --format="%an %s" refs/clean-release/ledger >../log.raw
	awk "{ print \$1, \$2, (\$3 ~ /^[(]evt-/ ? \"-\" : \$3) }" ../log.raw >../log
	test_cmp ../ops ../log
	git log --format=%cn refs/clean-release/ledger | sort -u >../committers
	test "$(wc -l <../committers)" = 1
'

test_expect_success 'the ledger is one linear chain: a root commit, then one parent each' '
	cd repo
	git rev-list --parents refs/clean-release/ledger | awk "{ print NF }" | sort | uniq -c | awk "{ print \$1, \$2 }" >../parents
	printf "1 1\n12 2\n" >../parents.expect
	test_cmp ../parents.expect ../parents
'

test_expect_success 'git diff-tree between every pair of consecutive ledger commits shows only A, never M or D' '
	cd repo
	n=0
	for c in $(git rev-list refs/clean-release/ledger); do
		p=$(git rev-parse -q --verify "$c^") || continue
		git diff-tree -r --no-commit-id "$p" "$c" >../dt
		test -s ../dt
		awk "\$5 != \"A\" { print; bad = 1 } END { exit bad }" ../dt
		n=$((n + 1))
	done
	test $n = 12
	git diff-tree -r --root --no-commit-id "$(git rev-list --max-parents=0 refs/clean-release/ledger)" >../dt
	awk "\$5 != \"A\" { print; bad = 1 } END { exit bad }" ../dt
'

test_expect_success 'each ledger commit adds the audit event it names (and the event says the same operation)' '
	cd repo
	for c in $(git rev-list refs/clean-release/ledger); do
		evt=$(git log -1 --format=%s "$c" | grep -o "evt-[0-9]*")
		path=$(git diff-tree -r --root --no-commit-id --name-only "$c" | grep "^audit/.*/$evt.json\$")
		git cat-file blob "$c:$path" >../evt.json
		test "$(jq -r .event_id ../evt.json)" = "$evt"
		test "$(jq -r .actor ../evt.json)" = "$(git log -1 --format=%an "$c")"
		want="$(jq -r .type ../evt.json) $(jq -r ".candidate_id // \"(\"" ../evt.json)"
		git log -1 --format=%s "$c" | grep -q "^$want"
	done
'

test_expect_success 'clean-release verify is clean and counts every commit' '
	cd repo
	test_exit 0 clean-release verify
	grep "^ledger verified: 13 commits, [0-9][0-9]* objects\$" "$TRASH/.cr-out"
	clean-release verify --json >../verify.json
	test "$(jq -r ".ok, .commits" ../verify.json | tr "\n" " ")" = "true 13 "
	test "$(jq -r ".objects > 0" ../verify.json)" = true
'

test_expect_success 'every ledger entry is canonical JSON (checked independently)' '
	cd repo
	rm -rf ../blobs
	mkdir ../blobs
	git ls-tree -r refs/clean-release/ledger >../tree
	test_must_fail grep -v "^100644 blob " ../tree
	i=0
	while read -r mode type oid path; do
		i=$((i + 1))
		git cat-file blob "$oid" >../blobs/$i.json
		echo "$i $path" >>../blobs/index
	done <../tree
	test $i -gt 40
	canon is-canonical ../blobs/*.json
'

test_expect_success 'every ledger entry validates against its schema' '
	cd repo
	while read -r i path; do
		case $path in
		candidates/*/candidate.json) s=candidate.schema.json ;;
		order/*.json) s=candidate.schema.json ;;
		*/imp-[0-9]*.json) s=import.schema.json ;;
		*/man-[0-9]*.json) s=manifest.schema.json ;;
		*/evt-[0-9]*.json) s=audit-event.schema.json ;;
		*) echo "unexpected ledger entry $path" >&2; false ;;
		esac
		validate_schema $s ../blobs/$i.json
	done <../blobs/index
'

test_expect_success 'every object is read with plain git at its docs/evidence-layout.md path and is what the CLI shows' '
	cd repo
	L=refs/clean-release/ledger
	for id in man-001 man-002 man-003 man-004 man-005; do
		git cat-file blob "$L:ids/man/$(fanout $id)/$id.json" >../stored.json
		clean-release manifest show --manifest-id $id --json >../shown.json
		canon same ../stored.json ../shown.json
		c=$(jq -r .candidate_id ../stored.json)
		test "$(git rev-parse "$L:candidates/$(fanout $c)/$c/manifests/$id.json")" = "$(git rev-parse "$L:ids/man/$(fanout $id)/$id.json")"
	done
	for id in imp-001 imp-002 imp-003 imp-004; do
		git cat-file blob "$L:ids/imp/$(fanout $id)/$id.json" >../stored.json
		test "$(jq -r .import_id ../stored.json)" = $id
		c=$(jq -r .candidate_id ../stored.json)
		test "$(git rev-parse "$L:candidates/$(fanout $c)/$c/imports/$id.json")" = "$(git rev-parse "$L:ids/imp/$(fanout $id)/$id.json")"
	done
	n=0
	for c in c1 c2 c3; do
		n=$((n + 1))
		test "$(git rev-parse "$L:order/0/0/0/0/0/0/0/0/$n.json")" = "$(git rev-parse "$L:candidates/$(fanout $c)/$c/candidate.json")"
		git cat-file blob "$L:candidates/$(fanout $c)/$c/candidate.json" >../stored.json
		clean-release candidate show --candidate-id $c --json | jq "{candidate_id, version, source_snapshot, source_commit, created_by, created_at}" >../shown.json
		canon same ../stored.json ../shown.json
	done
	clean-release audit log --json >../audit.json
	test "$(jq ".events | length" ../audit.json)" = 13
	for i in $(seq 0 12); do
		jq ".events[$i]" ../audit.json >../shown.json
		id=$(jq -r .event_id ../shown.json)
		git cat-file blob "$L:audit/$(fanout $id)/$id.json" >../stored.json
		canon same ../stored.json ../shown.json
		c=$(jq -r ".candidate_id // empty" ../shown.json)
		if [ -n "$c" ]; then
			test "$(git rev-parse "$L:candidates/$(fanout $c)/$c/events/$id.json")" = "$(git rev-parse "$L:audit/$(fanout $id)/$id.json")"
		fi
	done
'

test_expect_success 'every ledger path is one the layout documents, and no fan-out tree has more than 16 entries' '
	cd repo
	git ls-tree -r --name-only refs/clean-release/ledger >../paths
	grep -v -E "^(candidates/[0-9a-f]/[0-9a-f]/[0-9a-f]/[^/]+/(candidate\.json|events/evt-[0-9]{3,}\.json|imports/imp-[0-9]{3,}\.json|manifests/man-[0-9]{3,}\.json)|ids/(imp|man)/[0-9a-f]/[0-9a-f]/[0-9a-f]/(imp|man)-[0-9]{3,}\.json|audit/[0-9a-f]/[0-9a-f]/[0-9a-f]/evt-[0-9]{3,}\.json|order(/[0-9]){8}/[0-9]\.json|policy/evt-[0-9]{3,}\.json)\$" ../paths >../odd-paths || true
	test_cmp /dev/null ../odd-paths
	git ls-tree -r -d --name-only refs/clean-release/ledger >../dirs
	echo . >>../dirs
	while read -r d; do
		case $d in
		.) t=refs/clean-release/ledger^{tree} ;;
		*) t=refs/clean-release/ledger:$d ;;
		esac
		case $d in
		*/events|*/imports|*/manifests|candidates/?/?/?/*) continue ;;
		esac
		n=$(git ls-tree "$t" | wc -l)
		if [ $n -gt 16 ]; then echo "$d has $n entries" >&2; false; fi
	done <../dirs
'

test_expect_success 'policy.json and registry.json are readable with plain git on refs/clean-release/policy' '
	cd repo
	git cat-file blob refs/clean-release/policy:policy.json >../stored-policy.json
	git cat-file blob refs/clean-release/policy:registry.json >../stored-registry.json
	canon same ../policy.json ../stored-policy.json
	canon same ../registry.json ../stored-registry.json
	test "$(git log -1 --format=%an refs/clean-release/policy)" = dave
'

test_expect_success 'verify --range OLD..NEW checks only the commits after OLD, up to NEW or the tip' '
	cd repo
	test_exit 0 clean-release verify --range refs/clean-release/ledger~3..refs/clean-release/ledger~1 --json
	test "$(jq -r ".ok, .commits" "$TRASH/.cr-out" | tr "\n" " ")" = "true 2 "
	test_exit 0 clean-release verify --range refs/clean-release/ledger~5.. --json
	test "$(jq -r .commits "$TRASH/.cr-out")" = 5
	test_exit 0 clean-release verify --range refs/clean-release/ledger.. --json
	test "$(jq -r .commits "$TRASH/.cr-out")" = 0
'

test_expect_success 'verify --range: OLD that is not an ancestor of NEW is exit 5; a malformed range is exit 2' '
	cd repo
	test_exit 5 clean-release verify --range refs/clean-release/ledger~1..refs/clean-release/ledger~3
	grep "not an ancestor" "$TRASH/.cr-err"
	check_one_error "$TRASH/.cr-err"
	test_exit 2 clean-release verify --range refs/clean-release/ledger
	test_exit 2 clean-release verify --range ..refs/clean-release/ledger
	test_exit 2 clean-release verify --range no-such-rev..
	check_one_error "$TRASH/.cr-err"
'

test_expect_success 'verify: a hand-made commit that modifies an existing entry is exit 5 naming the commit and path' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	p=$(git ls-tree -r --name-only $tip | grep "/c1/candidate\.json\$")
	blob=$(git cat-file blob "$tip:$p" | sed "s/\"version\":\"1.0.0\"/\"version\":\"6.6.6\"/" | git hash-object -w --stdin)
	test "$blob" != "$(git rev-parse "$tip:$p")"
	bad=$(ledger_forge $tip --cacheinfo "100644,$blob,$p")
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -F "$(echo $bad | cut -c1-12)" "$TRASH/.cr-err"
	grep -F "$p" "$TRASH/.cr-err"
	test_exit 0 clean-release verify
'

test_expect_success 'verify: a hand-made commit that deletes an entry is exit 5 naming the commit and path' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	p=$(git ls-tree -r --name-only $tip | grep "/man-002\.json\$" | head -n 1)
	bad=$(ledger_forge $tip --force-remove "$p")
	test_must_fail git cat-file -e "$bad:$p"
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -F "$(echo $bad | cut -c1-12)" "$TRASH/.cr-err"
	grep -F "$p" "$TRASH/.cr-err"
	test_exit 0 clean-release verify
'

test_expect_success 'verify: an edit buried under later commits is still found, naming the edited commit' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	p=$(git ls-tree -r --name-only $tip | grep "^audit/.*/evt-001\.json\$")
	bad=$(ledger_forge $tip --force-remove "$p")
	later=$(git log -1 --format=%B $tip | git commit-tree "$bad^{tree}" -p $bad)
	test_exit 5 ledger_verify_at $later
	grep -F "$(echo $bad | cut -c1-12)" "$TRASH/.cr-err"
	grep -F "$p" "$TRASH/.cr-err"
'

test_expect_success 'verify: a new entry that is not canonical JSON is exit 5 naming the path' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	c1=$(git ls-tree -r --name-only $tip | grep "/c1/candidate\.json\$")
	for kind in pretty newline garbage; do
		case $kind in
		pretty) git cat-file blob "$tip:$c1" | jq ".candidate_id = \"forged\"" >../forged.json ;;
		newline)
			git cat-file blob "$tip:$c1" | jq ".candidate_id = \"forged\"" >../f.json
			canon canonical ../f.json >../forged.json
			echo >>../forged.json
			;;
		garbage) printf "{\"candidate_id\":\"forged\"," >../forged.json ;;
		esac
		p="candidates/$(fanout forged)/forged/candidate.json"
		blob=$(git hash-object -w ../forged.json)
		bad=$(ledger_forge $tip --cacheinfo "100644,$blob,$p")
		test_exit 5 ledger_verify_at $bad
		check_one_error "$TRASH/.cr-err"
		grep -F "$(echo $bad | cut -c1-12)" "$TRASH/.cr-err"
		grep -F "$p" "$TRASH/.cr-err"
	done
	test_exit 0 clean-release verify
'

test_expect_success 'verify: a new canonical entry that fails its schema is exit 5 naming the path' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	c1=$(git ls-tree -r --name-only $tip | grep "/c1/candidate\.json\$")
	git cat-file blob "$tip:$c1" | jq ".candidate_id = \"forged\" | .colour = \"red\"" >../f.json
	canon canonical ../f.json >../forged.json
	canon is-canonical ../forged.json
	test_must_fail validate_schema candidate.schema.json ../forged.json 2>/dev/null
	p="candidates/$(fanout forged)/forged/candidate.json"
	bad=$(ledger_forge $tip --cacheinfo "100644,$(git hash-object -w ../forged.json),$p")
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -F "$(echo $bad | cut -c1-12)" "$TRASH/.cr-err"
	grep -F "$p" "$TRASH/.cr-err"
	test_exit 0 clean-release verify
'

test_expect_success 'verify: an object under its candidate that is not the blob its id index holds is exit 5 naming both paths' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	clean-release -q candidate register --candidate-id twin --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor alice
	c=$(git rev-parse refs/clean-release/ledger)
	git update-ref refs/clean-release/ledger $tip $c
	p=$(git diff-tree -r --no-commit-id --name-only $tip $c | grep "^candidates/.*/twin/events/evt-")
	i=$(git diff-tree -r --no-commit-id --name-only $tip $c | grep "^audit/")
	# The candidate copy says another actor; canonical and valid, only no twin.
	git cat-file blob "$c:$p" | jq ".actor = \"mallory\"" >../t.json
	canon canonical ../t.json >../twin.json
	validate_schema audit-event.schema.json ../twin.json
	GIT_INDEX_FILE="$TRASH/.twin.idx" git read-tree $c
	GIT_INDEX_FILE="$TRASH/.twin.idx" git update-index --cacheinfo "100644,$(git hash-object -w ../twin.json),$p"
	tree=$(GIT_INDEX_FILE="$TRASH/.twin.idx" git write-tree)
	rm -f "$TRASH/.twin.idx"
	bad=$(git log -1 --format=%B $c | git commit-tree $tree -p $tip)
	test_exit 5 ledger_verify_at $bad
	check_one_error "$TRASH/.cr-err"
	grep -F "$p: not the same object as $i holds" "$TRASH/.cr-err"
	# The commit as the tool wrote it verifies.
	test_exit 0 ledger_verify_at $c
	test_exit 0 clean-release verify
'

test_expect_success 'verify: a run event under its candidate that is not the blob of ids/run/ is exit 5 naming both paths' '
	new_repo runs
	cd runs
	mkdir -p dist
	cp README dist/README
	printf "{\"artifacts\":[{\"path\":\"dist/README\",\"source\":\"demo:builds/t12\"}]}\n" >a.json
	clean-release --demo -q candidate register --candidate-id r1 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor alice
	clean-release --demo -q candidate import-artifacts --candidate-id r1 --input a.json --actor alice
	clean-release --demo -q manifest build --candidate-id r1 --actor alice
	clean-release --demo -q compliance run --candidate-id r1 --manifest-id man-001 --actor alice
	c=$(git rev-parse refs/clean-release-demo/ledger)
	p=$(git diff-tree -r --no-commit-id --name-only $c^ $c | grep "^candidates/.*/r1/runs/run-001/finished\.json\$")
	i=$(git diff-tree -r --no-commit-id --name-only $c^ $c | grep "^ids/run/.*/run-001/finished\.json\$")
	git cat-file blob "$c:$p" | jq ".at = \"2001-01-01T00:00:00Z\"" >../f.json
	canon canonical ../f.json >../finished.json
	GIT_INDEX_FILE="$TRASH/.twin.idx" git read-tree $c
	GIT_INDEX_FILE="$TRASH/.twin.idx" git update-index --cacheinfo "100644,$(git hash-object -w ../finished.json),$p"
	tree=$(GIT_INDEX_FILE="$TRASH/.twin.idx" git write-tree)
	rm -f "$TRASH/.twin.idx"
	bad=$(git log -1 --format=%B $c | git commit-tree $tree -p $c^)
	git update-ref refs/clean-release-demo/ledger $bad $c
	test_exit 5 clean-release --demo verify
	git update-ref refs/clean-release-demo/ledger $c $bad
	check_one_error "$TRASH/.cr-err"
	grep -F "$p: not the same object as $i holds" "$TRASH/.cr-err"
	test_exit 0 clean-release --demo verify
'

test_expect_success 'verify --json reports a broken ledger as an INTEGRITY error document' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	p=$(git ls-tree -r --name-only $tip | grep "/imp-001\.json\$" | head -n 1)
	bad=$(ledger_forge $tip --force-remove "$p")
	test_exit 5 ledger_verify_at $bad --json
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = INTEGRITY
'

test_expect_success 'verify: a stored object whose bytes were swapped (valid, canonical, other content) is exit 5' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	c1=$(git rev-parse "$tip:candidates/$(fanout c1)/c1/candidate.json")
	git cat-file blob $c1 | jq ".created_by = \"mallory\"" >../c1-forged.json
	canon canonical ../c1-forged.json >../c1-forged.canon
	validate_schema candidate.schema.json ../c1-forged.canon
	forged=$(git hash-object -w ../c1-forged.canon)
	obj() { echo ".git/objects/$(echo $1 | cut -c1-2)/$(echo $1 | cut -c3-)"; }
	test -f "$(obj $c1)" && test -f "$(obj $forged)"
	cp "$(obj $c1)" ../c1.obj
	chmod u+w "$(obj $c1)"
	cp "$(obj $forged)" "$(obj $c1)"
	test "$(git cat-file blob $c1 | jq -r .created_by)" = mallory
	test_exit 5 clean-release verify
	grep -i "hash\|mismatch\|$(echo $c1 | cut -c1-7)" "$TRASH/.cr-err"
	check_one_error "$TRASH/.cr-err"
	cp ../c1.obj "$(obj $c1)"
	test_exit 0 clean-release verify
'

test_expect_success 'verify: a stored tree whose bytes were swapped for another valid tree is exit 5' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	t1=$(git rev-parse "$tip:candidates/$(fanout c1)/c1")
	t2=$(git rev-parse "$tip:candidates/$(fanout c2)/c2")
	obj() { echo ".git/objects/$(echo $1 | cut -c1-2)/$(echo $1 | cut -c3-)"; }
	test -f "$(obj $t1)" && test -f "$(obj $t2)"
	cp "$(obj $t1)" ../t1.obj
	chmod u+w "$(obj $t1)"
	cp "$(obj $t2)" "$(obj $t1)"
	test_exit 5 clean-release verify
	grep "does not hash to its id" "$TRASH/.cr-err"
	check_one_error "$TRASH/.cr-err"
	cp ../t1.obj "$(obj $t1)"
	test_exit 0 clean-release verify
'

test_expect_success 'after the forged tips are gone the ledger verifies and accepts writes again' '
	cd repo
	test_exit 0 clean-release verify
	clean-release candidate register --candidate-id c4 --version 4 --source-snapshot HEAD --actor erin -q
	test "$(git rev-list --count refs/clean-release/ledger)" = 14
	test_exit 0 clean-release verify
'
