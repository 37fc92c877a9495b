#!/bin/sh
# t11-bad-input: every bad input is refused with the right exit code, one
# error line on stderr, and nothing written (refs and objects unchanged).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a repository with candidate c1 in DRAFT, real files and a file outside the root' '
	new_repo repo
	cd repo
	mkdir -p in/dist
	printf "console.log(1);\n" >in/dist/app.js
	printf "abc" >in/dist/abc.bin
	printf "secret outside the root\n" >outside.txt
	touch "$(printf "in/dist/\377.bin")"
	clean-release candidate register --candidate-id c1 --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor bot -q
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"},{\"path\":\"dist/abc.bin\",\"sha256\":\"%s\",\"size\":3}]}\n" \
	  "$(sha256_of in/dist/abc.bin)" >in/good.json
	validate_schema artifacts.schema.json in/good.json
	test "$(clean-release candidate show --candidate-id c1 --json | jq -r .status)" = DRAFT
'

test_expect_success 'import: malformed JSON is exit 2 and writes nothing' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: trailing garbage after the document is exit 2 and writes nothing' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"}]} x" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: wrong types (size as a string, artifacts as an object, path as a number) are exit 2' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/abc.bin\",\"size\":\"3\"}]}" >in/bad1.json
	printf "{\"artifacts\":{\"path\":\"dist/app.js\"}}" >in/bad2.json
	printf "{\"artifacts\":[{\"path\":7}]}" >in/bad3.json
	printf "{\"artifacts\":[{\"path\":\"dist/abc.bin\",\"size\":3.5}]}" >in/bad4.json
	for f in bad1 bad2 bad3 bad4; do
		test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/$f.json --actor bot
	done
'

test_expect_success 'import: a missing required field (artifacts, or an artifact without path) is exit 2' '
	cd repo
	printf "{}" >in/bad1.json
	printf "{\"artifacts\":[{\"sha256\":\"%s\"}]}" "$(sha256_of in/dist/abc.bin)" >in/bad2.json
	printf "{\"artifacts\":[]}" >in/bad3.json
	for f in bad1 bad2 bad3; do
		test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/$f.json --actor bot
	done
'

test_expect_success 'import: an unknown field (top level or in an artifact) is exit 2' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"}],\"colour\":\"red\"}" >in/bad1.json
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\",\"colour\":\"red\"}]}" >in/bad2.json
	for f in bad1 bad2; do
		test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/$f.json --actor bot
	done
'

test_expect_success 'import: invalid UTF-8 in the document is exit 2 (even though the file exists)' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/\377.bin\"}]}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a 20 MiB file of random bytes is exit 2 and writes nothing' '
	cd repo
	head -c 20M /dev/urandom >in/huge.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/huge.json --actor bot
	rm in/huge.json
'

test_expect_success 'import: a path with .. (leading or inside) is exit 2, even when the file exists' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"../outside.txt\"}]}" >in/bad1.json
	printf "{\"artifacts\":[{\"path\":\"dist/../dist/app.js\"}]}" >in/bad2.json
	printf "{\"artifacts\":[{\"path\":\"dist/./app.js\"}]}" >in/bad3.json
	for f in bad1 bad2 bad3; do
		test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/$f.json --actor bot
	done
'

test_expect_success 'import: an absolute path is exit 2, even when the file exists' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"%s\"}]}" "$(pwd)/in/dist/app.js" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a path with NUL (\u0000) is exit 2' '
	cd repo
	cat >in/bad.json <<-"EOF"
	{"artifacts":[{"path":"dist/app.js\u0000.txt"}]}
	EOF
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a symlink leaving the artifact root (relative or absolute) is exit 2' '
	cd repo
	ln -s ../../outside.txt in/dist/escape-rel
	ln -s "$(pwd)/outside.txt" in/dist/escape-abs
	printf "{\"artifacts\":[{\"path\":\"dist/escape-rel\"}]}" >in/bad1.json
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"},{\"path\":\"dist/escape-abs\"}]}" >in/bad2.json
	for f in bad1 bad2; do
		test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/$f.json --actor bot
	done
'

test_expect_success 'import: a symlinked directory leaving the artifact root is exit 2' '
	cd repo
	mkdir -p outdir
	printf "x\n" >outdir/f.txt
	ln -s ../../outdir in/dist/linkdir
	printf "{\"artifacts\":[{\"path\":\"dist/linkdir/f.txt\"}]}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a missing file is exit 2 and nothing of the other artifacts is written' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"},{\"path\":\"dist/nope.bin\"}]}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a given sha256 that does not match the file is exit 2' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/abc.bin\",\"sha256\":\"%s\"}]}" "$(printf abd | sha256sum | cut -c1-64)" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: a given size that does not match the file is exit 2' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/abc.bin\",\"size\":4}]}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: duplicate paths are exit 2' '
	cd repo
	printf "{\"artifacts\":[{\"path\":\"dist/app.js\"},{\"path\":\"dist/abc.bin\"},{\"path\":\"dist/app.js\"}]}" >in/bad.json
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
'

test_expect_success 'import: an input file that does not exist, or a directory, is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in/none.json --actor bot
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --input in --actor bot
'

test_expect_success 'after all refusals the good input still imports (the refusals were not about the candidate)' '
	cd repo
	clean-release candidate import-artifacts --candidate-id c1 --input in/good.json --actor bot --json >../good-import.json
	test "$(jq -r .import_id ../good-import.json)" = imp-001
	test "$(clean-release candidate show --candidate-id c1 --json | jq -r .status)" = PREPARED
'

test_expect_success 'register: candidate id with / is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id a/b --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id with .. is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id a..b --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id with a space is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id "a b" --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id with a tab is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id "$(printf "a\tb")" --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id with a control character is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id "$(printf "a\001b")" --version 1 --source-snapshot HEAD --actor bot
	test_refuses 2 clean-release candidate register --candidate-id "$(printf "ab\033")" --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id with a leading - (--candidate-id=-x) is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id=-x --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id ending in .lock is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id rc1.lock --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: candidate id ending in . is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id rc1. --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: an empty candidate id is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id= --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: a 129-character candidate id is exit 2' '
	cd repo
	id=$(printf "%0129d" 7)
	test ${#id} = 129
	test_refuses 2 clean-release candidate register --candidate-id "$id" --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'register: a 128-character candidate id is accepted and can be shown' '
	cd repo
	id=$(printf "%0128d" 7)
	test ${#id} = 128
	clean-release candidate register --candidate-id "$id" --version 1 --source-snapshot HEAD --actor bot -q
	test "$(clean-release candidate show --candidate-id "$id" --json | jq -r .candidate_id)" = "$id"
'

test_expect_success 'show/import with an invalid candidate id are exit 2 (not 4) and write nothing' '
	cd repo
	test_refuses 2 clean-release candidate show --candidate-id a/b
	test_refuses 2 clean-release candidate show --candidate-id ../c1
	test_refuses 2 clean-release candidate import-artifacts --candidate-id "c1 " --input in/good.json --actor bot
	test_refuses 2 clean-release manifest build --candidate-id c1.lock --actor bot
	test_refuses 2 clean-release manifest show --manifest-id ../man-001
	test_refuses 2 clean-release audit log --candidate-id a/b
'

test_expect_success 'register: a source snapshot that does not resolve is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id nosrc --version 1 --source-snapshot v9.9.9 --actor bot
	test_refuses 2 clean-release candidate register --candidate-id nosrc --version 1 --source-snapshot 0000000000000000000000000000000000000000 --actor bot
	test_expect_code 4 clean-release candidate show --candidate-id nosrc 2>/dev/null
'

test_expect_success 'register: a source snapshot naming a blob, not a commit, is exit 2' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id blobsrc --version 1 --source-snapshot HEAD:README --actor bot
'

test_expect_success 'an unknown option is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id u1 --version 1 --source-snapshot HEAD --actor bot --colour red
	grep -e "--colour" "$TRASH/.cr-err"
	test_refuses 2 clean-release --bogus candidate list
'

test_expect_success 'a missing required option or a missing value is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release candidate register --candidate-id u2 --source-snapshot HEAD --actor bot
	grep -e "--version" "$TRASH/.cr-err"
	test_refuses 2 clean-release candidate register --candidate-id u2 --version 1 --source-snapshot HEAD --actor
	test_refuses 2 clean-release candidate register --candidate-id u2 --version --json --source-snapshot HEAD --actor bot
	test_refuses 2 clean-release candidate import-artifacts --candidate-id c1 --actor bot
	test_refuses 2 clean-release manifest show
	test_refuses 2 clean-release candidate register --candidate-id u2 --candidate-id u3 --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'a positional argument is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release candidate register u4 --candidate-id u4 --version 1 --source-snapshot HEAD --actor bot
'

test_expect_success 'policy publish: a policy that fails its schema is exit 2 and writes nothing' '
	cd repo
	write_policy ..
	jq ".rules[0].severity = \"FATAL\"" ../policy.json >../bad-policy1.json
	jq "del(.release_tag_pattern)" ../policy.json >../bad-policy2.json
	jq ".rules[0].path_pattern = \"x\" | .rules[0].content_pattern = \"y\"" ../policy.json >../bad-policy3.json
	jq "del(.allowed_hosts)" ../registry.json >../bad-registry.json
	for p in bad-policy1 bad-policy2 bad-policy3; do
		test_refuses 2 clean-release policy publish --policy ../$p.json --registry ../registry.json --actor bot
	done
	test_refuses 2 clean-release policy publish --policy ../policy.json --registry ../bad-registry.json --actor bot
	test_must_fail git rev-parse -q --verify refs/clean-release/policy
'

test_expect_success 'policy publish: a regex that does not compile is exit 2 and the message names the rule id' '
	cd repo
	jq ".rules += [{\"id\":\"broken-regex\",\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"path_pattern\":\"(unclosed\"}]" \
	  ../policy.json >../bad-regex.json
	test_refuses 2 clean-release policy publish --policy ../bad-regex.json --registry ../registry.json --actor bot
	head -n 1 "$TRASH/.cr-err" | grep broken-regex
	jq ".rules += [{\"id\":\"no-group\",\"stage\":\"NO_EXTERNAL_ENDPOINTS\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"endpoint_pattern\":\"https?://[a-z.]+\"}]" \
	  ../policy.json >../no-group.json
	test_refuses 2 clean-release policy publish --policy ../no-group.json --registry ../registry.json --actor bot
	head -n 1 "$TRASH/.cr-err" | grep no-group
	test_must_fail git rev-parse -q --verify refs/clean-release/policy
'

test_expect_success 'a duplicate candidate id is exit 5 (CONFLICT) and writes nothing' '
	cd repo
	test_refuses 5 clean-release candidate register --candidate-id c1 --version 9.9.9 --source-snapshot HEAD --actor bot
	test_refuses 5 clean-release --json candidate register --candidate-id c1 --version 9.9.9 --source-snapshot HEAD --actor bot
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = CONFLICT
	test "$(clean-release candidate show --candidate-id c1 --json | jq -r .version)" = 1.0.0
'

test_expect_success 'a gate refusal (manifest build in DRAFT) is exit 3 and appends exactly one REFUSED audit event' '
	cd repo
	clean-release candidate register --candidate-id draft1 --version 1 --source-snapshot HEAD --actor bot -q
	refs_snapshot | grep -v "^refs/clean-release/ledger " >../refs-before
	old=$(git rev-parse refs/clean-release/ledger)
	clean-release audit log --json >../audit-before.json
	test_exit 3 clean-release manifest build --candidate-id draft1 --actor gatekeeper
	check_one_error "$TRASH/.cr-err"
	grep DRAFT "$TRASH/.cr-err"
	new=$(git rev-parse refs/clean-release/ledger)
	test "$(git rev-list --count $old..$new)" = 1
	test "$(git rev-parse $new^)" = $old
	clean-release audit log --json >../audit-after.json
	validate_openapi AuditEventList ../audit-after.json
	test $(jq ".events | length" ../audit-after.json) = $(( $(jq ".events | length" ../audit-before.json) + 1 ))
	jq ".events[-1]" ../audit-after.json >../refused.json
	test "$(jq -r .outcome ../refused.json)" = REFUSED
	test "$(jq -r .type ../refused.json)" = manifest.build
	test "$(jq -r .candidate_id ../refused.json)" = draft1
	test "$(jq -r .actor ../refused.json)" = gatekeeper
	test "$(jq -r .details.error.code ../refused.json)" = INVALID_TRANSITION
	validate_schema audit-event.schema.json ../refused.json
	evt=$(jq -r .event_id ../refused.json)
	git diff-tree -r --no-commit-id --name-status $old $new >../gate-diff
	test_must_fail grep -v "^A	" ../gate-diff
	test_must_fail grep -v "/$evt.json\$" ../gate-diff
	refs_snapshot | grep -v "^refs/clean-release/ledger " >../refs-after
	test_cmp ../refs-before ../refs-after
	test "$(clean-release candidate show --candidate-id draft1 --json | jq -r "[.status, .latest_manifest_id] | join(\" \")")" = "DRAFT "
'

test_expect_success 'the refusal'"'"'s ledger commit names the operation, the candidate and the event, authored by the actor' '
	cd repo
	evt=$(clean-release audit log --json | jq -r ".events[-1].event_id")
	test "$(git log -1 --format=%an refs/clean-release/ledger)" = gatekeeper
	git log -1 --format=%s refs/clean-release/ledger >../gate-subject
	cat ../gate-subject
	grep manifest.build ../gate-subject
	grep -w draft1 ../gate-subject
	grep -w "$evt" ../gate-subject
'

test_expect_success 'after a gate refusal the ledger still verifies and accepts writes' '
	cd repo
	test_exit 0 clean-release verify
	test_exit 0 clean-release candidate register --candidate-id after-refusal --version 1 --source-snapshot HEAD --actor bot
	test "$(clean-release candidate show --candidate-id after-refusal --json | jq -r .status)" = DRAFT
	test_exit 0 clean-release verify
'

test_expect_success 'a gate refusal with --json prints an INVALID_TRANSITION error document on stdout' '
	new_repo repo-gate
	cd repo-gate
	clean-release candidate register --candidate-id draft1 --version 1 --source-snapshot HEAD --actor bot -q
	test_exit 3 clean-release --json manifest build --candidate-id draft1 --actor bot
	check_one_error "$TRASH/.cr-err"
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = INVALID_TRANSITION
	test "$(jq -r .error.details.status "$TRASH/.cr-out")" = DRAFT
'

test_expect_success 'show of an unknown candidate or manifest is exit 4 (NOT_FOUND) and writes nothing' '
	cd repo
	test_refuses 4 clean-release candidate show --candidate-id nobody
	test_refuses 4 clean-release manifest show --manifest-id man-999
	test_refuses 4 clean-release --json candidate show --candidate-id nobody
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = NOT_FOUND
	test_refuses 4 clean-release manifest show --manifest-id man-999 --json
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = NOT_FOUND
'

test_expect_success 'import or manifest build of an unknown candidate is exit 4 and writes nothing' '
	cd repo
	test_refuses 4 clean-release candidate import-artifacts --candidate-id nobody --input in/good.json --actor bot
	test_refuses 4 clean-release manifest build --candidate-id nobody --actor bot
'

test_expect_success '--json input errors print {"error":{"code","message"}} on stdout with an exit-2 code' '
	cd repo
	printf "{\"artifacts\":[" >in/bad.json
	test_refuses 2 clean-release --json candidate import-artifacts --candidate-id c1 --input in/bad.json --actor bot
	validate_error "$TRASH/.cr-out"
	case $(jq -r .error.code "$TRASH/.cr-out") in INVALID_INPUT|INVALID_ARGUMENT) ;; *) false ;; esac
	test_refuses 2 clean-release candidate register --candidate-id a/b --version 1 --source-snapshot HEAD --actor bot --json
	validate_error "$TRASH/.cr-out"
	case $(jq -r .error.code "$TRASH/.cr-out") in INVALID_INPUT|INVALID_ARGUMENT) ;; *) false ;; esac
	test_refuses 2 clean-release --json candidate register --candidate-id u9 --version 1 --source-snapshot HEAD --actor bot --nope
	validate_error "$TRASH/.cr-out"
	test "$(jq -r .error.code "$TRASH/.cr-out")" = INVALID_ARGUMENT
'

test_expect_success 'an unknown command is exit 2 and writes nothing' '
	cd repo
	test_refuses 2 clean-release frobnicate
	test_refuses 2 clean-release candidate frobnicate --candidate-id c1
	test_refuses 2 clean-release --json frobnicate
	validate_error "$TRASH/.cr-out"
'

test_expect_success 'ci without a remote, or with a ref that is no tag, writes nothing' '
	cd repo
	test_refuses 2 clean-release ci --tag refs/tags/v1.2.0-rc1 --input in/good.json
	grep "no git remote \"origin\"" "$TRASH/.cr-err"
	test_refuses 2 clean-release ci --tag refs/heads/main --input in/good.json --no-push
	grep "wants a tag" "$TRASH/.cr-err"
'

# no_escapes FILE — FILE holds no terminal control byte (C0 other than
# newline, DEL, a C1 control in UTF-8) and no bidirectional override.
no_escapes='no_escapes() {
	if LC_ALL=C grep -q "$(printf '"'"'[\001-\011\013-\037\177]'"'"')" "$1"; then
		echo "control bytes in $1:" >&2; od -c "$1" | head >&2; return 1
	fi
	if LC_ALL=C grep -q "$(printf '"'"'\302[\200-\237]'"'"')\|$(printf '"'"'\342\200[\252-\256]'"'"')\|$(printf '"'"'\342\201[\246-\251]'"'"')" "$1"; then
		echo "C1 or bidirectional controls in $1" >&2; return 1
	fi
}'

test_expect_success 'escape sequences in an artifact path, a JSON key and an id never reach the terminal raw' '
	'"$no_escapes"'
	cd repo
	clean-release -q candidate register --candidate-id esc1 --version 1 --source-snapshot HEAD --actor a
	printf "{\"artifacts\":[{\"path\":\"dist/\\\\u001b]52;c;SGVsbG8=\\\\u0007.txt\"}]}" >../esc-path.json
	test_exit 2 clean-release candidate import-artifacts --candidate-id esc1 --input ../esc-path.json --actor a
	grep "52;c;SGVsbG8=" "$TRASH/.cr-err"
	no_escapes "$TRASH/.cr-err"
	printf "{\"artifacts\":[{\"path\":\"a.txt\"}],\"\\\\u001b[2Jevil\":1}" >../esc-key.json
	test_exit 2 clean-release candidate import-artifacts --candidate-id esc1 --input ../esc-key.json --actor a
	grep "2Jevil" "$TRASH/.cr-err"
	no_escapes "$TRASH/.cr-err"
	test_exit 2 clean-release candidate show --candidate-id "$(printf "x\033[31mred\302\233")"
	grep "31mred" "$TRASH/.cr-err"
	no_escapes "$TRASH/.cr-err"
	test_exit 2 clean-release --json candidate show --candidate-id "$(printf "x\033[31m")"
	no_escapes "$TRASH/.cr-err"
	no_escapes "$TRASH/.cr-out"
'

test_expect_success 'an actor with a bidirectional override or isolate is refused (exit 2), writing nothing' '
	'"$no_escapes"'
	cd repo
	before=$(git rev-parse refs/clean-release/ledger)
	for c in "\342\200\256" "\342\200\252" "\342\201\246" "\342\201\251"; do
		test_exit 2 clean-release candidate register --candidate-id bidi1 --version 1 --source-snapshot HEAD \
			--actor "$(printf "release-owner${c}rekcah")"
		grep "invalid actor: contains the bidirectional control U+20" "$TRASH/.cr-err"
		no_escapes "$TRASH/.cr-err"
	done
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
'

test_expect_success 'import: a file written to while it is hashed is refused (exit 2, naming it), writing nothing' '
	cd repo
	mkdir -p grow/dist
	truncate -s 400M grow/dist/big.img
	printf "{\"artifacts\":[{\"path\":\"dist/big.img\"}]}" >grow/artifacts.json
	( while :; do printf x >>grow/dist/big.img; sleep 0.005; done ) &
	writer=$!
	before=$(git rev-parse refs/clean-release/ledger)
	set +e
	clean-release candidate import-artifacts --candidate-id c1 --input grow/artifacts.json --actor bot 2>../grow.err
	got=$?
	set -e
	kill $writer
	wait $writer 2>/dev/null || :
	test $got = 2
	grep "dist/big.img changed while it was being hashed" ../grow.err
	test "$(git rev-parse refs/clean-release/ledger)" = "$before"
	rm -rf grow
'
