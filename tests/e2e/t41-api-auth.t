#!/bin/sh
# t41-api-auth: the REST API's tokens and roles, and every bad input of the
# issue, tried as a hostile client would on a real loopback socket: each
# gets its status and code, a one-line message, and writes nothing.
. "$(dirname "$0")/lib.sh"

# raw HOST:PORT — send stdin as it is on a TCP connection; print what comes
# back (the tests that need a lying or endless request).
raw_py='
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
hold = float(sys.argv[2]) if len(sys.argv) > 2 else 0
s = socket.create_connection((host, int(port)), timeout=15)
s.sendall(sys.stdin.buffer.read())
if hold < 0:
    s.close(); sys.exit(0)
t0 = time.time(); out = b""
while True:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
sys.stderr.write("closed after %.1f s\n" % (time.time() - t0))
'
export raw_py

test_expect_success 'setup: the acme policy, three tokens (viewer, releaser, approver) in a 0600 file' '
	new_repo repo
	cd repo
	publish_acme_policy
	for r in viewer releaser approver; do
		clean-release token new --actor "$r-bot" --role $r >../$r.token 2>../$r.err
		test "$(wc -c <../$r.token)" = 65
		sed -n 2p ../$r.err >>../tokens
	done
	grep -q "^[0-9a-f]\{64\} viewer-bot viewer$" ../tokens
	test_must_fail grep -F "$(cat ../viewer.token)" ../tokens
	chmod 600 ../tokens
	serve_start --tokens ../tokens --timeout 2
	grep "tokens from ../tokens (3)" "$TRASH/serve.log"
'

test_expect_success 'a tokens file others can read, a malformed line, --actor with tokens, a non-loopback address without tokens, a port another server holds: refused at start (exit 2)' '
	cd repo
	cp ../tokens ../open-tokens && chmod 644 ../open-tokens
	test_exit 2 clean-release serve --listen 127.0.0.1:0 --tokens ../open-tokens
	grep "readable or writable by others (mode 0644): chmod 600" "$TRASH/.cr-err"
	{ cat ../tokens; echo "abc viewer-bot viewer"; } >../bad-tokens && chmod 600 ../bad-tokens
	test_exit 2 clean-release serve --listen 127.0.0.1:0 --tokens ../bad-tokens
	grep "bad-tokens:4: the digest is not 64 lowercase hex" "$TRASH/.cr-err"
	{ cat ../tokens; printf "\0\n"; } >../nul-tokens && chmod 600 ../nul-tokens
	test_exit 2 clean-release serve --listen 127.0.0.1:0 --tokens ../nul-tokens
	grep "holds a NUL byte" "$TRASH/.cr-err"
	test_exit 2 clean-release serve --listen 127.0.0.1:0 --tokens ../tokens --actor someone
	grep "with --tokens, each token names its actor" "$TRASH/.cr-err"
	test_exit 2 clean-release serve --listen 0.0.0.0:0
	grep "is not a loopback address: give --tokens FILE" "$TRASH/.cr-err"
	test_exit 2 clean-release serve --listen nowhere
	grep "invalid --listen nowhere" "$TRASH/.cr-err"
	port=$(sed "s|^http://127.0.0.1:||; s|/api/clean-release$||" "$TRASH/.serve-url")
	test_exit 2 clean-release serve --listen 127.0.0.1:$port --tokens ../tokens
	grep "cannot listen on 127.0.0.1:$port: Address already in use" "$TRASH/.cr-err"
'

test_expect_success 'no token or an unknown one is 401 with WWW-Authenticate: Bearer; healthz needs none' '
	cd repo
	api_expect 401 GET /candidates -D ../h
	grep -i "^WWW-Authenticate: Bearer" ../h
	test "$(api_code)" = UNAUTHENTICATED
	TOKEN=0000 api_expect 401 GET /candidates
	TOKEN=$(cat ../viewer.token)x api_expect 401 GET /policy
	api_expect 200 GET /healthz
'

test_expect_success 'the auth matrix: each role on each write route (403 below its role; past auth, the bad body is 422); nothing written' '
	cd repo
	refs_snapshot >../refs
	for role in viewer releaser approver; do
		for route in candidates candidates/c1/artifacts/import candidates/c1/manifest candidates/c1/compliance-runs \
			candidates/c1/approve candidates/c1/reject candidates/c1/publish candidates/c1/revoke; do
			case "$role:$route" in
			viewer:*) want=403 ;;
			releaser:*/approve | releaser:*/reject | releaser:*/publish | releaser:*/revoke) want=403 ;;
			*) want=422 ;;
			esac
			TOKEN=$(cat ../$role.token) api_expect $want POST /$route --data "{\"bogus\": 1}"
			if [ $want = 403 ]; then test "$(api_code)" = FORBIDDEN; else test "$(api_code)" = INVALID_INPUT; fi
		done
		TOKEN=$(cat ../$role.token) api_expect 200 GET /candidates
	done
	check_refs_unchanged ../refs
'

test_expect_success 'the actor of a write is the token actor; an actor field is 422' '
	cd repo
	TOKEN=$(cat ../releaser.token) api_expect 422 POST /candidates \
		--data "{\"candidate_id\":\"c1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\",\"actor\":\"mallory\"}"
	grep -F "actor" "$TRASH/.api-out"
	TOKEN=$(cat ../releaser.token) api_expect 201 POST /candidates \
		--data "{\"candidate_id\":\"c1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	test "$(jq -r .created_by "$TRASH/.api-out")" = releaser-bot
	test "$(clean-release audit log --candidate-id c1 --json | jq -r ".events[0].actor")" = releaser-bot
'

test_expect_success 'bad bodies: malformed JSON, invalid UTF-8, duplicate keys, 10,000-deep nesting (400); unknown, mistyped, bad ids (422); 20 MiB (413)' '
	cd repo
	refs_snapshot >../refs
	export TOKEN=$(cat ../approver.token)
	api_expect 400 POST /candidates --data "{\"candidate_id\": "
	test "$(api_code)" = INVALID_ARGUMENT
	printf "{\"candidate_id\":\"c\\377\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}" >../utf8.json
	api_expect 400 POST /candidates --data-binary @../utf8.json
	grep "invalid UTF-8" "$TRASH/.api-out"
	api_expect 400 POST /candidates --data "{\"candidate_id\":\"a\",\"candidate_id\":\"b\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	grep -i "duplicate" "$TRASH/.api-out"
	/usr/bin/python3 -c "print(\"[\" * 10000 + \"]\" * 10000)" >../deep.json
	api_expect 400 POST /candidates --data-binary @../deep.json
	api_expect 400 POST /candidates
	api_expect 422 POST /candidates --data "{\"candidate_id\":\"c9\",\"version\":1,\"source_snapshot\":\"HEAD\"}"
	api_expect 422 POST /candidates --data "{\"candidate_id\":\"c9\",\"version\":\"1\",\"source_snapshot\":\"HEAD\",\"colour\":\"red\"}"
	for id in "a/b" ".." "a b" "$(printf %0129d 0)"; do
		api_expect 422 POST /candidates --data "{\"candidate_id\":\"$id\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
		test "$(api_code)" = INVALID_INPUT
	done
	api_expect 422 POST /candidates/c1/approve --data "{\"report_id\":\"../rpt-001\"}"
	head -c 20971520 /dev/zero | tr "\0" " " >../big.json
	api_expect 413 POST /candidates --data-binary @../big.json
	test "$(api_code)" = PAYLOAD_TOO_LARGE
	check_refs_unchanged ../refs
'

test_expect_success 'bad paths and queries: %2f %2e%2e %00 spaces and 129 characters in ids, bad limit or cursor, an unknown parameter (400); wrong method, unknown route (404)' '
	cd repo
	export TOKEN=$(cat ../viewer.token)
	for id in a%2fb %2e%2e a%00b a%20b "$(printf %0129d 0)" %zz; do
		api_expect 400 GET /candidates/$id
		test "$(api_code)" = INVALID_ARGUMENT
	done
	api_expect 400 GET /manifests/imp-001
	api_expect 400 GET /compliance-runs/run-1
	for q in limit=0 limit=1001 limit=x "limit=1&limit=2" cursor=bogus status=NOPE colour=red; do
		api_expect 400 GET "/candidates?$q"
	done
	api_expect 400 GET "/compliance-runs/run-001/violations?stage=NOPE"
	api_expect 400 GET "/audit?candidate_id=..%2f"
	api_expect 404 PUT /candidates
	api_expect 404 GET /candidates/c1/nothing
	api_expect 404 GET /candidates/nope
	test "$(api_code)" = NOT_FOUND
'

test_expect_success 'hostile connections: a Content-Length that lies, a body cut off, a chunked body that never ends, 10,000 headers, a 1 MiB URL; the server goes on' '
	cd repo
	refs_snapshot >../refs
	hp=$(sed "s|^http://||; s|/api/clean-release$||" "$TRASH/.serve-url")
	auth="Authorization: Bearer $(cat ../releaser.token)"
	printf "POST /api/clean-release/candidates HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 100\r\n\r\n{\"candidate_id\":" "$auth" |
		/usr/bin/python3 -c "$raw_py" "$hp" 2>../lie.err >../lie.out
	grep "closed after [0-9.]* s" ../lie.err
	printf "POST /api/clean-release/candidates HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 60\r\n\r\n{\"candidate_id\":\"cut\"," "$auth" |
		/usr/bin/python3 -c "$raw_py" "$hp" -1
	printf "POST /api/clean-release/candidates HTTP/1.1\r\nHost: x\r\n%s\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"can\r\n" "$auth" |
		/usr/bin/python3 -c "$raw_py" "$hp" 2>../chunk.err >/dev/null
	grep "closed after [0-9.]* s" ../chunk.err
	{ printf "GET /api/clean-release/healthz HTTP/1.1\r\nHost: x\r\n"; i=0; while [ $i -lt 10000 ]; do printf "X-H-%d: v\r\n" $i; i=$((i + 1)); done; printf "\r\n"; } |
		/usr/bin/python3 -c "$raw_py" "$hp" >../headers.out 2>/dev/null
	head -n 1 ../headers.out | grep -E "^HTTP/1.1 (400|413|431)"
	{ printf "GET /api/clean-release/candidates/"; head -c 1048576 /dev/zero | tr "\0" a; printf " HTTP/1.1\r\nHost: x\r\n\r\n"; } |
		/usr/bin/python3 -c "$raw_py" "$hp" >../url.out 2>/dev/null
	head -n 1 ../url.out | grep -E "^HTTP/1.1 (400|414|431)"
	TOKEN=$(cat ../viewer.token) api_expect 200 GET /candidates
	check_refs_unchanged ../refs
'

test_expect_success 'artifact roots: an import beneath the server roots works; one outside them (its tokens file, /etc) is 422 and reads nothing' '
	cd repo
	serve_stop
	mkdir -p ../art/dist && printf "hello\n" >../art/dist/a.txt
	serve_start --tokens ../tokens --artifact-root ../art
	export TOKEN=$(cat ../releaser.token)
	api_expect 201 POST /candidates --data "{\"candidate_id\":\"r1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	refs_snapshot >../refs
	api_expect 422 POST /candidates/r1/artifacts/import --data "{\"artifact_root\":\"/etc\",\"artifacts\":[{\"path\":\"passwd\"}]}"
	grep "outside the artifact roots" "$TRASH/.api-out"
	api_expect 422 POST /candidates/r1/artifacts/import --data "{\"artifact_root\":\"..\",\"artifacts\":[{\"path\":\"tokens\"}]}"
	api_expect 422 POST /candidates/r1/artifacts/import --data "{\"artifacts\":[{\"path\":\"README\"}]}"
	check_refs_unchanged ../refs
	api_expect 201 POST /candidates/r1/artifacts/import --data "{\"artifact_root\":\"$(cd ../art && pwd)\",\"artifacts\":[{\"path\":\"dist/a.txt\"}]}"
'

test_expect_success 'a bare repository: an import needs an absolute artifact_root beneath the server roots (a relative one is 422)' '
	cd repo
	serve_stop
	git clone -q --bare . ../bare.git
	git push -q ../bare.git "refs/clean-release/*:refs/clean-release/*"
	cd ../bare.git
	serve_start --tokens ../tokens --artifact-root ../art
	export TOKEN=$(cat ../releaser.token)
	api_expect 201 POST /candidates --data "{\"candidate_id\":\"b1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	api_expect 422 POST /candidates/b1/artifacts/import --data "{\"artifact_root\":\"art\",\"artifacts\":[{\"path\":\"dist/a.txt\"}]}"
	grep "must be absolute: the repository is bare" "$TRASH/.api-out"
	api_expect 422 POST /candidates/b1/artifacts/import --data "{\"artifacts\":[{\"path\":\"dist/a.txt\"}]}"
	api_expect 201 POST /candidates/b1/artifacts/import --data "{\"artifact_root\":\"$(cd ../art && pwd)\",\"artifacts\":[{\"path\":\"dist/a.txt\"}]}"
	serve_stop
'

test_expect_success 'no answer and no log line holds a token' '
	cd repo
	serve_stop
	for r in viewer releaser approver; do
		test_must_fail grep -rF "$(cat ../$r.token)" "$TRASH/serve.log" "$TRASH/.api" .git/clean-release 2>/dev/null
	done
	grep -c "^[A-Z]* /api/clean-release/" "$TRASH/serve.log" >/dev/null
'

test_expect_success 'demo and real isolation: --demo serve sees none of the real candidates and writes only demo refs' '
	cd repo
	git for-each-ref --format="%(refname) %(objectname)" refs/clean-release >../real-refs
	: >"$TRASH/serve.log"
	clean-release --demo serve --listen 127.0.0.1:0 --actor demo-bot >/dev/null 2>"$TRASH/serve.log" &
	echo $! >"$TRASH/.serve-pid"; echo $! >>"$TRASH/.kill-at-exit"
	i=0; until grep -q "namespace demo" "$TRASH/serve.log"; do i=$((i + 1)); test $i -lt 100; sleep 0.05; done
	sed -n "s|^clean-release serve: \(http://[^ ]*\) namespace.*|\1|p" "$TRASH/serve.log" >"$TRASH/.serve-url"
	unset TOKEN
	api_expect 200 GET /candidates
	test_must_fail grep -q "\"r1\"\|\"c1\"" "$TRASH/.api-out"
	api_expect 201 POST /candidates --data "{\"candidate_id\":\"d1\",\"version\":\"1\",\"source_snapshot\":\"HEAD\"}"
	api_expect 200 GET /healthz
	test "$(jq -r .namespace "$TRASH/.api-out")" = demo
	git for-each-ref --format="%(refname) %(objectname)" refs/clean-release >../real-refs.now
	test_cmp ../real-refs ../real-refs.now
	git rev-parse --verify -q refs/clean-release-demo/ledger >/dev/null
	test_must_fail clean-release candidate show --candidate-id d1 >/dev/null 2>&1
	serve_stop
'

test_expect_success 'every answer above is the contract response for its path, method and status' '
	api_validate_all
'
