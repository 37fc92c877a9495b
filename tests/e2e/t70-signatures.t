#!/bin/sh
# t70-signatures: signers in the trusted policy, ledger commits signed as git
# signs them (ssh-keygen -Y sign, the gpgsig header), the gates that know who
# signs; real ssh keys made by ssh-keygen, git verify-commit as the judge.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: three ssh keys; a policy whose signers are an approver and a releaser, approvals signed' '
	mkdir keys
	for k in owner bot stranger; do ssh-keygen -q -t ed25519 -N "" -C "$k" -f keys/$k; done
	new_repo repo
	cd repo
	git config user.email owner@acme.example
	write_policy ..
	jq --arg o "$(cut -d" " -f1,2 ../keys/owner.pub)" --arg b "$(cut -d" " -f1,2 ../keys/bot.pub)" \
	  ".signers = [{principal: \"owner@acme.example\", public_key: \$o, roles: [\"approver\", \"policy-admin\"]},
	               {principal: \"bot@acme.example\", public_key: \$b, roles: [\"releaser\"]}]
	   | .require_signatures = [\"release.approve\", \"release.publish\"]" ../policy.json >../signed-policy.json
	validate_schema policy.schema.json ../signed-policy.json
	clean-release -q policy publish --policy ../signed-policy.json --registry ../registry.json --actor owner@acme.example
	mkdir -p ../art/dist && printf "ok\n" >../art/dist/a.txt
	printf "{\"artifacts\":[{\"path\":\"dist/a.txt\",\"source\":\"build:ci/1\"}]}" >../art/artifacts.json
	clean-release -q candidate register --candidate-id c1 --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c1 --input ../art/artifacts.json
	clean-release -q manifest build --candidate-id c1
	clean-release -q compliance run --candidate-id c1 --manifest-id man-001 --jobs 1
	test "$(candidate_status c1)" = CHECK_PASSED
'

test_expect_success 'policy allowed-signers prints git allowed-signers lines, with the roles as comments' '
	cd repo
	clean-release policy allowed-signers >../allowed
	grep -x "owner@acme.example namespaces=\"git\" $(cut -d" " -f1,2 ../keys/owner.pub)" ../allowed
	grep -x "bot@acme.example namespaces=\"git\" $(cut -d" " -f1,2 ../keys/bot.pub)" ../allowed
	grep -x "# owner@acme.example: approver policy-admin" ../allowed
	grep -x "# bot@acme.example: releaser" ../allowed
'

test_expect_success 'an approval with no key, an unknown key, a key without the role: each refused (exit 3), nothing approved' '
	cd repo
	tip=$(git rev-parse refs/clean-release/ledger)
	test_exit 3 clean-release release approve --candidate-id c1 --report-id rpt-001
	grep "release.approve needs a signature (policy e2e-policy v1 requires it): no signing key is configured" "$TRASH/.cr-err"
	git config gpg.format ssh
	git config user.signingKey "$TRASH/keys/stranger"
	test_exit 3 clean-release release approve --candidate-id c1 --report-id rpt-001
	grep "needs a signature by a signer of policy e2e-policy v1; the signing key ssh-ed25519 .* is not one" "$TRASH/.cr-err"
	test_exit 3 git -c user.signingKey="$TRASH/keys/bot" clean-release release approve --candidate-id c1 --report-id rpt-001
	grep "release.approve needs a signer with the role approver; bot@acme.example does not have it" "$TRASH/.cr-err"
	test_exit 3 git -c gpg.format=openpgp -c user.signingKey="$TRASH/keys/owner" clean-release release approve --candidate-id c1 --report-id rpt-001
	grep "gpg.format is openpgp: clean-release signs with SSH keys only" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$tip"
	test "$(candidate_status c1)" = CHECK_PASSED
'

test_expect_success 'the approver approves: the commit is signed, git verify-commit accepts it with the allowed-signers file' '
	cd repo
	git config user.signingKey "$TRASH/keys/owner"
	clean-release -q release approve --candidate-id c1 --report-id rpt-001
	test "$(candidate_status c1)" = APPROVED
	git cat-file commit refs/clean-release/ledger | grep -q "^gpgsig -----BEGIN SSH SIGNATURE-----"
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" verify-commit refs/clean-release/ledger 2>../vc.err
	grep "Good \"git\" signature for owner@acme.example" ../vc.err
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" log -1 --show-signature --format=%s refs/clean-release/ledger >../show 2>&1
	grep "Good \"git\" signature for owner@acme.example" ../show
	clean-release audit log --candidate-id c1 --json | jq -e "[.events[] | select(.type == \"release.approve\")][0].details.signed_by == \"owner@acme.example\"" >/dev/null
	clean-release verify >/dev/null
	test -z "$(git cat-file commit refs/clean-release/ledger~1 | grep "^gpgsig")"
'

test_expect_success 'the actor of a signed operation is its signer: --actor may only repeat it, user.email gives way to it' '
	cd repo
	clean-release -q candidate register --candidate-id c6 --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c6 --input ../art/artifacts.json
	m=$(clean-release --json manifest build --candidate-id c6 | jq -r .manifest_id)
	r=$(clean-release --json compliance run --candidate-id c6 --manifest-id "$m" --jobs 1 | jq -r .report_id)
	tip=$(git rev-parse refs/clean-release/ledger)
	test_exit 2 clean-release release approve --candidate-id c6 --report-id "$r" --actor mallory@acme.example
	grep "the actor mallory@acme.example is not the signer: the signing key is owner@acme.example'"'"'s in policy e2e-policy v1" "$TRASH/.cr-err"
	grep "give --actor owner@acme.example, or no --actor" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$tip"
	git -c user.email=o.wner@corp.example clean-release -q release approve --candidate-id c6 --report-id "$r"
	clean-release audit log --candidate-id c6 --json |
	  jq -e "[.events[] | select(.type == \"release.approve\")][0] | .actor == \"owner@acme.example\" and .details.signed_by == \"owner@acme.example\"" >/dev/null
	test "$(git log -1 --format=%an refs/clean-release/ledger)" = owner@acme.example
	# An operation the policy does not want signed keeps the actor given.
	git -c user.email=o.wner@corp.example clean-release -q candidate register --candidate-id c7 --version 1 --source-snapshot v1.2.0-rc1
	test "$(clean-release --json candidate show --candidate-id c7 | jq -r .created_by)" = o.wner@corp.example
'

test_expect_success 'verify refuses a signed approval whose event names another actor than its signer (exit 5)' '
	cd repo
	apr=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.approve c6 " | cut -d" " -f1)
	old=$(git ls-tree -r "$apr" | grep "audit/.*$(git log -1 --format=%s "$apr" | sed "s/.*(\(evt-[0-9]*\)).*/\1/")" | awk "{print \$3}" | head -1)
	test -n "$old"
	git cat-file blob "$old" | jq ".actor = \"mallory@acme.example\"" >../forged-event.json
	new=$(canon canonical ../forged-event.json | git hash-object -w --stdin)
	GIT_INDEX_FILE=../forge.idx git read-tree "$apr"
	git ls-tree -r "$apr" | awk -v o="$old" "\$3 == o {print \$4}" | while read -r p; do
		GIT_INDEX_FILE=../forge.idx git update-index --cacheinfo 100644,"$new","$p"
	done
	tree=$(GIT_INDEX_FILE=../forge.idx git write-tree)
	forged=$(git log -1 --format=%B "$apr" | git -c gpg.format=ssh -c user.signingKey="$TRASH/keys/owner" commit-tree -S "$tree" -p "$apr~1")
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" verify-commit "$forged" 2>/dev/null
	test_exit 5 clean-release verify --range "$apr~1..$forged"
	grep "its release.approve records the actor mallory@acme.example, but owner@acme.example signed it" "$TRASH/.cr-err"
'

test_expect_success 'the key as a literal (key::, held by ssh-agent) and the public key file both name the signer' '
	cd repo
	git config user.signingKey "$TRASH/keys/owner.pub"
	test "$(git config user.signingKey)" = "$TRASH/keys/owner.pub"
	eval "$(ssh-agent -s)" >/dev/null
	echo "$SSH_AGENT_PID" >>"$TRASH/.kill-at-exit"
	ssh-add -q "$TRASH/keys/owner" 2>/dev/null
	clean-release -q release publish --candidate-id c1 --report-id rpt-001 --channel prod
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" verify-commit refs/clean-release/ledger
	kill "$SSH_AGENT_PID"
'

test_expect_success 'cleanRelease.signAll signs every ledger commit; a policy without signers behaves as before' '
	cd repo
	git config user.signingKey "$TRASH/keys/bot"
	git -c cleanRelease.signAll=true clean-release -q candidate register --candidate-id c2 --version 1 --source-snapshot v1.2.0-rc1
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" verify-commit refs/clean-release/ledger 2>../vc2.err
	grep "Good \"git\" signature for bot@acme.example" ../vc2.err
	git config --unset user.signingKey
	clean-release -q candidate register --candidate-id c3 --version 1 --source-snapshot v1.2.0-rc1
	test_must_fail git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" verify-commit refs/clean-release/ledger 2>/dev/null
	clean-release verify >/dev/null
'

test_expect_success 'a policy whose signer has a malformed key or no role, or a principal twice, is refused at publish (exit 2)' '
	cd repo
	jq ".version = 2 | .signers[0].public_key = \"ssh-ed25519 not-base64!\"" ../signed-policy.json >../bad1.json
	test_refuses 2 clean-release policy publish --policy ../bad1.json --registry ../registry.json --actor owner@acme.example
	jq ".version = 2 | .signers[1].principal = .signers[0].principal" ../signed-policy.json >../bad2.json
	test_refuses 2 clean-release policy publish --policy ../bad2.json --registry ../registry.json --actor owner@acme.example
	grep "is listed twice" "$TRASH/.cr-err"
	jq ".version = 2 | .require_signatures = [\"release.dance\"]" ../signed-policy.json >../bad3.json
	test_refuses 2 clean-release policy publish --policy ../bad3.json --registry ../registry.json --actor owner@acme.example
'

test_expect_success 'verify checks every required signature: the approval stripped of gpgsig, or with another commit'"'"'s, exits 5' '
	cd repo
	clean-release verify >/dev/null
	apr=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.approve c1 " | cut -d" " -f1)
	git cat-file commit "$apr" >../signed.txt
	# The same commit without its signature: the same tree, the same parent.
	awk "/^gpgsig /{skip=1; next} skip && /^ /{next} {skip=0; print}" ../signed.txt >../stripped.txt
	stripped=$(git hash-object -t commit -w ../stripped.txt)
	test "$(git rev-parse "$stripped^{tree}")" = "$(git rev-parse "$apr^{tree}")"
	test_exit 5 clean-release verify --range "$apr~1..$stripped"
	grep "ledger commit $(git rev-parse --short=12 "$stripped"): release.approve needs a signature (policy e2e-policy v1 requires it), and the commit is unsigned" "$TRASH/.cr-err"
	# Another commit'"'"'s signature (the publication'"'"'s) on the approval.
	pub=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.publish c1 " | cut -d" " -f1)
	git cat-file commit "$pub" | awk "/^gpgsig /{p=1} p && !/^gpgsig / && !/^ /{p=0} p" >../pubsig.txt
	{ sed -n "1,/^committer /p" ../stripped.txt; cat ../pubsig.txt; sed "1,/^committer /d" ../stripped.txt; } >../copied.txt
	copied=$(git hash-object -t commit -w ../copied.txt)
	git cat-file commit "$copied" | grep -q "^gpgsig "
	test_exit 5 clean-release verify --range "$apr~1..$copied"
	grep "the SSH signature does not match what it signs" "$TRASH/.cr-err"
	echo "$stripped" >../stripped.oid
	echo "$copied" >../copied.oid
'

test_expect_success 'the server refuses the stripped and the copied signature; a fresh clone verifies everything offline' '
	git init -q --bare server.git
	(cd server.git && clean-release -q hook install --server)
	cd repo
	apr=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.approve c1 " | cut -d" " -f1)
	git push -q ../server.git "refs/tags/v1.2.0-rc1" "$apr~1:refs/clean-release/ledger" "refs/clean-release/policy:refs/clean-release/policy"
	test_exit 1 git push ../server.git "$(cat ../stripped.oid):refs/clean-release/ledger"
	grep "release.approve needs a signature .* and the commit is unsigned" "$TRASH/.cr-err"
	test_exit 1 git push ../server.git "$(cat ../copied.oid):refs/clean-release/ledger"
	grep "does not match what it signs" "$TRASH/.cr-err"
	git push -q ../server.git "refs/clean-release/ledger:refs/clean-release/ledger" "refs/notes/clean-release:refs/notes/clean-release"
	git clone -q ../server.git ../fresh
	cd ../fresh
	clean-release -q fetch
	clean-release verify
'

test_expect_success 'a key removed from policy v2 leaves the approvals it signed under v1 valid; under v2 it is refused' '
	cd repo
	jq ".version = 2 | .signers |= map(select(.principal != \"owner@acme.example\")) | .signers += [{principal: \"admin2@acme.example\", public_key: \"$(cut -d" " -f1,2 ../keys/stranger.pub)\", roles: [\"approver\"]}]" ../signed-policy.json >../v2.json
	clean-release -q policy publish --policy ../v2.json --registry ../registry.json --actor owner@acme.example
	clean-release verify >/dev/null
	clean-release -q candidate register --candidate-id c4 --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c4 --input ../art/artifacts.json
	clean-release -q manifest build --candidate-id c4
	m=$(clean-release --json candidate show --candidate-id c4 | jq -r .latest_manifest_id)
	clean-release -q compliance run --candidate-id c4 --manifest-id "$m" --jobs 1
	r=$(clean-release --json candidate show --candidate-id c4 | jq -r .latest_report_id)
	test_exit 3 git -c user.signingKey="$TRASH/keys/owner" clean-release release approve --candidate-id c4 --report-id "$r"
	grep "is not one" "$TRASH/.cr-err"
	git -c user.signingKey="$TRASH/keys/stranger" clean-release -q release approve --candidate-id c4 --report-id "$r" --actor admin2@acme.example
	clean-release verify >/dev/null
'

test_expect_success 'sync signs the operations it replays with the local key, and refuses to replay one it cannot sign' '
	cd repo
	clean-release -q candidate register --candidate-id c5 --version 1 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id c5 --input ../art/artifacts.json
	clean-release -q manifest build --candidate-id c5
	m=$(clean-release --json candidate show --candidate-id c5 | jq -r .latest_manifest_id)
	clean-release -q compliance run --candidate-id c5 --manifest-id "$m" --jobs 1
	git init -q --bare ../s2.git
	(cd ../s2.git && clean-release -q hook install --server)
	git push -q ../s2.git v1.2.0-rc1 HEAD:refs/heads/master "refs/clean-release/*:refs/clean-release/*" "refs/notes/clean-release:refs/notes/clean-release"
	git clone -q ../s2.git ../X && git clone -q ../s2.git ../Y
	(cd ../Y && git config user.email admin2@acme.example && clean-release -q fetch)
	(cd ../X && git config user.email x@acme.example && clean-release -q fetch &&
	 clean-release -q candidate register --candidate-id x1 --version 1 --source-snapshot v1.2.0-rc1 && clean-release -q push)
	cd ../Y
	r=$(clean-release --json candidate show --candidate-id c5 | jq -r .latest_report_id)
	git -c gpg.format=ssh -c user.signingKey="$TRASH/keys/stranger" clean-release -q release approve --candidate-id c5 --report-id "$r"
	tip=$(git rev-parse refs/clean-release/ledger)
	test_exit 5 clean-release push
	test_exit 3 clean-release sync
	grep "cannot replay release.approve c5: release.approve needs a signature" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$tip"
	git config gpg.format ssh
	git config user.signingKey "$TRASH/keys/stranger"
	clean-release sync >../sync-y.out
	grep "1 operations replayed" ../sync-y.out
	test "$(clean-release -C ../s2.git --json candidate show --candidate-id c5 | jq -r .status)" = APPROVED
	clean-release -C ../s2.git verify >/dev/null
	git cat-file commit refs/clean-release/ledger | grep -q "^gpgsig "
	clean-release audit log --candidate-id c5 --json | jq -e "[.events[] | select(.type == \"release.approve\")][0].details | .signed_by == \"admin2@acme.example\" and .replayed_from != null" >/dev/null
'

test_expect_success 'the chain of trust: the first policy requiring signed publications is signed by an admin it lists (said: trusted on first use, or pinned); later ones by an admin of the one before' '
	cd repo
	jq ".version = 3 | .require_signatures += [\"policy.publish\"] | .signers |= map(if .principal == \"admin2@acme.example\" then .roles += [\"policy-admin\"] else . end)" ../v2.json >../v3.json
	tip=$(git rev-parse refs/clean-release/ledger)
	test_exit 3 git -c user.signingKey="$TRASH/keys/bot" clean-release policy publish --policy ../v3.json --registry ../registry.json --actor bot@acme.example
	grep "policy.publish needs a signer with the role policy-admin; bot@acme.example does not have it in policy e2e-policy v3" "$TRASH/.cr-err"
	test "$(git rev-parse refs/clean-release/ledger)" = "$tip"
	git -c user.signingKey="$TRASH/keys/stranger" clean-release -q policy publish --policy ../v3.json --registry ../registry.json --actor admin2@acme.example
	digest=$(git show refs/clean-release/policy:policy.json | sha256sum | cut -c1-64)
	clean-release verify >../v.out
	grep "^policy root: e2e-policy v3 (sha256 $digest, ledger commit .*) trusted on first use; pin it: git clean-release verify --policy-root $digest" ../v.out
	clean-release verify --policy-root "$digest" | grep "^policy root: e2e-policy v3 .* matches the pin"
	test_exit 5 clean-release verify --policy-root 0000000000000000000000000000000000000000000000000000000000000000
	grep "is not the pinned policy root" "$TRASH/.cr-err"
	clean-release --json verify | jq -e ".policy_root.digest == \"$digest\" and .policy_root.pinned == false" >/dev/null
	git -c cleanRelease.policyRoot="$digest" clean-release --json verify | jq -e ".policy_root.pinned" >/dev/null
	jq ".version = 4 | .description = \"v4\"" ../v3.json >../v4.json
	test_exit 3 git -c user.signingKey="$TRASH/keys/owner" clean-release policy publish --policy ../v4.json --registry ../registry.json --actor owner@acme.example
	grep "policy.publish needs a signature by a signer of policy e2e-policy v3" "$TRASH/.cr-err"
	git -c user.signingKey="$TRASH/keys/stranger" clean-release -q policy publish --policy ../v4.json --registry ../registry.json --actor admin2@acme.example
	clean-release verify --policy-root "$digest" >/dev/null
	git -c gpg.ssh.allowedSignersFile="$TRASH/allowed" log -1 --format=%G? refs/clean-release/ledger | grep -qv "^N$"
'

test_expect_success 'verify --require-signatures: every commit signed by a signer of the policy in force, or exit 5' '
	cd repo
	test_exit 5 clean-release verify --require-signatures
	grep "is unsigned (--require-signatures)" "$TRASH/.cr-err"
	new_repo ../all-signed
	cd ../all-signed
	git config user.email owner@acme.example
	git config gpg.format ssh
	git config user.signingKey "$TRASH/keys/owner"
	git config cleanRelease.signAll true
	clean-release -q policy publish --policy ../signed-policy.json --registry ../registry.json
	clean-release -q candidate register --candidate-id s1 --version 1 --source-snapshot v1.2.0-rc1
	clean-release verify --require-signatures
	git -c user.signingKey="$TRASH/keys/stranger" clean-release -q candidate register --candidate-id s2 --version 1 --source-snapshot v1.2.0-rc1
	test_exit 5 clean-release verify --require-signatures
	grep "is signed by a key that is not a signer of e2e-policy (--require-signatures)" "$TRASH/.cr-err"
	clean-release verify >/dev/null
'

test_expect_success 'the API path: the server signs with its own key, which the policy lists; the token'"'"'s role still gates each request' '
	ssh-keygen -q -t ed25519 -N "" -C api -f keys/api
	new_repo api
	cd api
	mkdir ../apipol && write_policy ../apipol
	jq --arg o "$(cut -d" " -f1,2 ../keys/owner.pub)" --arg a "$(cut -d" " -f1,2 ../keys/api.pub)" \
	  ".signers = [{principal: \"owner@acme.example\", public_key: \$o, roles: [\"policy-admin\"]},
	               {principal: \"api@acme.example\", public_key: \$a, roles: [\"approver\", \"releaser\"]}]
	   | .require_signatures = [\"release.approve\", \"release.publish\"]" ../apipol/policy.json >../apipol/signed.json
	clean-release -q policy publish --policy ../apipol/signed.json --registry ../apipol/registry.json --actor ops@acme.example
	for c in a1 a2; do
		clean-release -q candidate register --candidate-id $c --version 1 --source-snapshot v1.2.0-rc1 --actor ops@acme.example
		clean-release -q candidate import-artifacts --candidate-id $c --input ../art/artifacts.json --actor ops@acme.example
		m=$(clean-release --json manifest build --candidate-id $c --actor ops@acme.example | jq -r .manifest_id)
		clean-release -q compliance run --candidate-id $c --manifest-id $m --jobs 1 --actor ops@acme.example
	done
	r1=$(clean-release --json candidate show --candidate-id a1 | jq -r .latest_report_id)
	r2=$(clean-release --json candidate show --candidate-id a2 | jq -r .latest_report_id)
	: >../api-tokens
	for who in alice:approver vic:viewer rel:releaser; do
		clean-release token new --actor ${who%%:*} --role ${who#*:} >../tok-${who%%:*} 2>../tok.err
		sed -n 2p ../tok.err >>../api-tokens
	done
	chmod 600 ../api-tokens
	git config gpg.format ssh
	git config user.signingKey "$TRASH/keys/api"
	serve_start --tokens ../api-tokens
	TOKEN=$(cat ../tok-vic) api_expect 403 POST /candidates/a1/approve --data "{\"report_id\":\"$r1\"}"
	TOKEN=$(cat ../tok-rel) api_expect 403 POST /candidates/a1/approve --data "{\"report_id\":\"$r1\"}"
	TOKEN=$(cat ../tok-alice) api_expect 200 POST /candidates/a1/approve --data "{\"report_id\":\"$r1\",\"comment\":\"ok\"}"
	test "$(jq -r ".decision, .actor" "$TRASH/.api-out" | tr "\n" " ")" = "APPROVED api@acme.example "
	clean-release audit log --candidate-id a1 --json | jq -e "[.events[] | select(.type == \"release.approve\")][0]
	  | .actor == \"api@acme.example\" and .details.signed_by == \"api@acme.example\" and .details.on_behalf_of == \"alice\"" >/dev/null
	clean-release policy allowed-signers >../api-allowed
	git -c gpg.ssh.allowedSignersFile="$TRASH/api-allowed" verify-commit refs/clean-release/ledger 2>../api-vc.err
	grep "Good \"git\" signature for api@acme.example" ../api-vc.err
	TOKEN=$(cat ../tok-alice) api_expect 200 POST /candidates/a1/publish --data "{\"report_id\":\"$r1\",\"channel\":\"prod\"}"
	TOKEN=$(cat ../tok-vic) api_expect 200 GET "/audit?candidate_id=a1"
	jq -e "[.events[] | select(.type == \"release.publish\")][0] | .actor == \"api@acme.example\" and .details.on_behalf_of == \"alice\"" "$TRASH/.api-out" >/dev/null
	serve_stop
	# A key the policy does not list, then none: 409 GATE_REFUSED, nothing written.
	git config user.signingKey "$TRASH/keys/stranger"
	serve_start --tokens ../api-tokens
	tip=$(git rev-parse refs/clean-release/ledger)
	TOKEN=$(cat ../tok-alice) api_expect 409 POST /candidates/a2/approve --data "{\"report_id\":\"$r2\"}"
	test "$(api_code)" = GATE_REFUSED
	jq -r .error.message "$TRASH/.api-out" | grep "needs a signature by a signer of policy e2e-policy v1; the signing key ssh-ed25519 .* is not one"
	serve_stop
	git config --unset user.signingKey
	serve_start --tokens ../api-tokens
	TOKEN=$(cat ../tok-alice) api_expect 409 POST /candidates/a2/approve --data "{\"report_id\":\"$r2\"}"
	jq -r .error.message "$TRASH/.api-out" | grep "no signing key is configured"
	serve_stop
	test "$(git rev-parse refs/clean-release/ledger)" = "$tip"
	test "$(candidate_status a2)" = CHECK_PASSED
	test "$(candidate_status a1)" = PUBLISHED
	clean-release verify >/dev/null
	api_validate_all
'

test_expect_success 'ECDSA (P-256, P-384, P-521) and RSA keys sign and verify as ed25519 ones do; a copied ECDSA signature is refused' '
	for t in ecdsa:256 ecdsa:384 ecdsa:521 rsa:3072; do
		ssh-keygen -q -t ${t%%:*} -b ${t#*:} -N "" -C $t -f keys/k${t#*:}
	done
	new_repo kinds
	cd kinds
	git config user.email ops@acme.example
	mkdir ../kpol && write_policy ../kpol
	jq --arg a "$(cut -d" " -f1,2 ../keys/k256.pub)" --arg b "$(cut -d" " -f1,2 ../keys/k384.pub)" \
	   --arg c "$(cut -d" " -f1,2 ../keys/k521.pub)" --arg d "$(cut -d" " -f1,2 ../keys/k3072.pub)" \
	  ".signers = [{principal: \"p256@acme.example\", public_key: \$a, roles: [\"approver\"]},
	               {principal: \"p384@acme.example\", public_key: \$b, roles: [\"approver\"]},
	               {principal: \"p521@acme.example\", public_key: \$c, roles: [\"approver\"]},
	               {principal: \"rsa@acme.example\", public_key: \$d, roles: [\"approver\"]}]
	   | .require_signatures = [\"release.approve\"]" ../kpol/policy.json >../kpol/signed.json
	validate_schema policy.schema.json ../kpol/signed.json
	clean-release -q policy publish --policy ../kpol/signed.json --registry ../kpol/registry.json --actor ops@acme.example
	clean-release policy allowed-signers >../kinds-allowed
	for k in 256 384 521 3072; do
		clean-release -q candidate register --candidate-id k$k --version 1 --source-snapshot v1.2.0-rc1 --actor ops@acme.example
		clean-release -q candidate import-artifacts --candidate-id k$k --input ../art/artifacts.json --actor ops@acme.example
		m=$(clean-release --json manifest build --candidate-id k$k --actor ops@acme.example | jq -r .manifest_id)
		r=$(clean-release --json compliance run --candidate-id k$k --manifest-id $m --jobs 1 --actor ops@acme.example | jq -r .report_id)
		git -c gpg.format=ssh -c user.signingKey="$TRASH/keys/k$k" clean-release -q release approve --candidate-id k$k --report-id $r
		git -c gpg.ssh.allowedSignersFile="$TRASH/kinds-allowed" verify-commit refs/clean-release/ledger 2>/dev/null
		test "$(candidate_status k$k)" = APPROVED
	done
	clean-release verify >/dev/null
	clean-release audit log --json | jq -e "[.events[] | select(.type == \"release.approve\") | .actor] == [\"p256@acme.example\", \"p384@acme.example\", \"p521@acme.example\", \"rsa@acme.example\"]" >/dev/null
	a=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.approve k256 " | cut -d" " -f1)
	b=$(git log --format="%H %s" refs/clean-release/ledger | grep " release.approve k384 " | cut -d" " -f1)
	git cat-file commit "$b" | awk "/^gpgsig /{skip=1; next} skip && /^ /{next} {skip=0; print}" >../kb.txt
	git cat-file commit "$a" | awk "/^gpgsig /{p=1} p && !/^gpgsig / && !/^ /{p=0} p" >../ka-sig.txt
	{ sed -n "1,/^committer /p" ../kb.txt; cat ../ka-sig.txt; sed "1,/^committer /d" ../kb.txt; } >../kb-copied.txt
	copied=$(git hash-object -t commit -w ../kb-copied.txt)
	test_exit 5 clean-release verify --range "$b~1..$copied"
	grep "the SSH signature does not match what it signs" "$TRASH/.cr-err"
'
