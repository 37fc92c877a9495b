#!/bin/sh
# t60-tui: clean-release tui under tmux, driven by send-keys and read by
# capture-pane, on real repositories: what it shows, each key and what it
# refuses, live runs (its own and the CLI's), violations masked, resizes,
# the demo namespace, the non-TTY redirect, and the terminal restored.
. "$(dirname "$0")/lib.sh"

# prepared ID [ARTIFACTS-JSON] — register ID at v1.2.0-rc1 and import (in repo).
prepared='prepared() {
	clean-release -q candidate register --candidate-id "$1" --version 1.2.0 --source-snapshot v1.2.0-rc1
	clean-release -q candidate import-artifacts --candidate-id "$1" --input "${2:-$TRASH/art/artifacts.json}"
}'
tip='tip() { git rev-parse -q --verify refs/clean-release/ledger; }'
export prepared tip

test_expect_success 'setup: a repository with the policy, a checked candidate (PASSED) and a prepared one' '
	command -v tmux >/dev/null
	new_repo repo
	cd repo
	git config user.email release-bot@example.org
	write_policy ..
	clean-release -q policy publish --policy ../policy.json --registry ../registry.json --actor release-owner
	mkdir -p ../art/dist
	i=0; while [ $i -lt 200 ]; do printf "console.log(%d);\n" $i >../art/dist/f$i.js; i=$((i + 1)); done
	(cd ../art && ls dist | sed "s|^|dist/|; s|$| build:ci/1|") | artifacts_doc >../art/artifacts.json
	eval "$prepared"
	prepared 2026.03.02-rc3
	clean-release -q manifest build --candidate-id 2026.03.02-rc3
	clean-release -q compliance run --candidate-id 2026.03.02-rc3 --manifest-id man-001 --jobs 1
	test "$(candidate_status 2026.03.02-rc3)" = CHECK_PASSED
	sleep 1 # a second later: the newest, the first of the list
	prepared 2026.03.09-rc1
'

test_expect_success 'tui without a terminal: the redirect to the CLI and the API on stderr, exit 2, stdin or stdout' '
	cd repo
	printf "%s\n" "clean-release tui needs an interactive terminal; use the CLI (\`clean-release compliance run …\`) or the REST API (\`clean-release serve\`)" >../redirect
	test_exit 2 clean-release tui </dev/null
	test_cmp ../redirect "$TRASH/.cr-err"
	tui_start nostdin "$TRASH/repo" "clean-release tui </dev/null 2>$TRASH/nostdin.err"
	tui_wait nostdin "<exited> 2"
	test_cmp ../redirect "$TRASH/nostdin.err"
	tui_start pipe "$TRASH/repo" "bash -c \"clean-release tui 2>$TRASH/pipe.err | cat >$TRASH/pipe.out; echo tui-exit=\\\${PIPESTATUS[0]}\""
	tui_wait pipe "tui-exit=2"
	test_cmp ../redirect "$TRASH/pipe.err"
	test ! -s "$TRASH/pipe.out"
'

test_expect_success 'the screen: header, the list newest first, and the selected candidate as the evidence has it; looking writes nothing' '
	cd repo
	before=$(eval "$tip"; tip)
	# A worker of a run this TUI starts stops itself at f150.js (a test fault) until SIGCONT.
	tui_start main "$TRASH/repo" "CR_TEST_WORKER_PAUSE=dist/f150.js clean-release tui"
	tui_wait main "Candidate 2026.03.09-rc1"
	tui_screen main >../s1
	grep "^ clean-release · REAL · repo: repo " ../s1
	sed -n 3p ../s1 | grep "^ > 2026.03.09-rc1 PREPARED"
	sed -n 4p ../s1 | grep "^   2026.03.02-rc3 CHECK_PAS │"
	grep "manifest -" ../s1
	grep "F5/c Run  F6/m Manifest  F8/a Approve  F9/p Publish  r Refresh  ? Keys  q Quit" ../s1
	tui_keys main Down
	tui_wait main "Candidate 2026.03.02-rc3"
	tui_screen main >../s2
	grep "manifest man-001  v1  200 artifacts  sha256 " ../s2
	grep "run      run-001  SUCCEEDED  200/200" ../s2
	grep "  DATA_PURITY            PASSED   0" ../s2
	grep "  MANIFEST_CONSISTENCY   PASSED   0" ../s2
	grep "report   rpt-001  PASSED  0 blocker, 0 warning" ../s2
	sleep 2.5
	eval "$tip"
	test "$(tip)" = "$before"
	test -z "$(git status --porcelain)"
'

test_expect_success 'F5 without a manifest: the reason, nothing written; F8 before CHECK_PASSED: disabled with the reason, no approval' '
	cd repo
	eval "$tip"
	before=$(tip)
	tui_keys main Up
	tui_wait main "Candidate 2026.03.09-rc1"
	tui_keys main F5
	tui_wait main "No manifest — press F6 to build one"
	tui_keys main F8
	tui_wait main "Approve needs CHECK_PASSED; candidate is PREPARED"
	tui_keys main a
	tui_wait main "Approve needs CHECK_PASSED; candidate is PREPARED"
	tui_keys main F9
	tui_wait main "Publish needs APPROVED; candidate is PREPARED"
	test "$(tip)" = "$before"
	test "$(clean-release audit log --candidate-id 2026.03.09-rc1 --json | jq "[.events[] | select(.type == \"release.approve\")] | length")" = 0
'

test_expect_success 'F6 asks, n leaves it; y builds man-002 explicitly from the latest import' '
	cd repo
	eval "$tip"
	before=$(tip)
	tui_keys main F6
	tui_wait main "Build a manifest of 2026.03.09-rc1 from imp-002? [y/N]"
	tui_keys main n
	test "$(tip)" = "$before"
	tui_keys main F6
	tui_keys main y
	tui_wait main "Built man-002: 200 artifacts from imp-002"
	tui_wait main "manifest man-002  v1  200 artifacts"
	test "$(candidate_status 2026.03.09-rc1)" = MANIFEST_BUILT
'

test_expect_success 'F5 runs in a process of its own: the screen shows its live progress, then PASSED' '
	cd repo
	tui_keys main F5
	tui_wait main "Run the check of 2026.03.09-rc1 on man-002"
	tui_tmux send-keys -t main y
	runner=$(wait_runner task-run-002 20)
	tui_wait main "run      run-002  RUNNING"
	tui_wait main "%"
	grep -E "run-002  RUNNING  [0-9]+/200  \[#*\.+\] [0-9]+%" "$TRASH/.screen"
	grep "  DATA_PURITY            RUNNING" "$TRASH/.screen"
	pkill -CONT -P "$runner"
	tui_wait main "report   rpt-002  PASSED" 30
	tui_wait main "CHECK_PASSED"
	grep "run      run-002  SUCCEEDED  200/200" "$TRASH/.screen"
'

test_expect_success 'a run started from the CLI in another shell appears live, and its end' '
	cd repo
	eval "$prepared"
	prepared 2026.03.05-rc2
	clean-release -q manifest build --candidate-id 2026.03.05-rc2
	tui_wait main "2026.03.05-rc2 MANIFEST_"
	tui_keys main Home
	tui_wait main "Candidate 2026.03.05-rc2"
	CR_TEST_WORKER_PAUSE=dist/f150.js clean-release -q compliance run --candidate-id 2026.03.05-rc2 --manifest-id man-003 --detach
	runner=$(wait_runner task-run-003 20)
	tui_wait main "run      run-003  RUNNING"
	grep -E "run-003  RUNNING  [0-9]+/200" "$TRASH/.screen"
	pkill -CONT -P "$runner"
	tui_wait main "report   rpt-003  PASSED" 30
	tui_keys main Down
	tui_wait main "Candidate 2026.03.09-rc1"
'

test_expect_success 'F8 in CHECK_PASSED approves on the latest report; F9 asks the channel and publishes' '
	cd repo
	tui_keys main F8
	tui_wait main "Approve 2026.03.09-rc1 on rpt-002? [y/N]"
	tui_keys main y
	tui_wait main "Approved 2026.03.09-rc1 on rpt-002"
	tui_wait main "APPROVED"
	test "$(candidate_status 2026.03.09-rc1)" = APPROVED
	tui_keys main F9
	tui_wait main "Publish to channel: _"
	tui_tmux send-keys -t main p r o d
	tui_keys main Enter
	tui_wait main "Publish 2026.03.09-rc1 to prod? [y/N]"
	tui_keys main y
	tui_wait main "Published 2026.03.09-rc1 to prod (pub-001)"
	test "$(candidate_status 2026.03.09-rc1)" = PUBLISHED
	clean-release verify >/dev/null
'

test_expect_success 'the violations of a blocked report: the planted violation, its secret masked; Esc goes back' '
	cd repo
	mkdir -p ../bad/dist
	printf "name: app\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n" >../bad/dist/settings.cfg
	printf "{\"artifacts\":[{\"path\":\"dist/settings.cfg\",\"source\":\"build:ci/1\"}]}" >../bad/artifacts.json
	eval "$prepared"
	prepared 2026.03.10-rc1 ../bad/artifacts.json
	clean-release -q manifest build --candidate-id 2026.03.10-rc1
	test_exit 1 clean-release compliance run --candidate-id 2026.03.10-rc1 --manifest-id man-004 --jobs 1
	clean-release --json compliance violations --run-id run-004 >../v.json
	rule=$(jq -r ".violations[0].rule_id" ../v.json)
	tui_keys main r
	tui_keys main Home
	tui_wait main "Candidate 2026.03.10-rc1"
	tui_wait main "report   rpt-004  BLOCKED"
	tui_keys main Enter
	tui_wait main "Violations of rpt-004 (run-004): $(jq ".violations | length" ../v.json)"
	tui_wait main "$rule"
	grep "dist/settings.cfg:2" "$TRASH/.screen"
	test_must_fail grep "BEGIN RSA PRIVATE KEY" "$TRASH/.screen"
	tui_keys main Escape
	tui_wait main "Candidate 2026.03.10-rc1"
'

test_expect_success 'at 80x24, after a resize to 120x40 and back: the same screen, nothing left over' '
	cd repo
	tui_keys main r
	tui_screen main | sed 1d >../a80
	tui_tmux resize-window -t main -x 120 -y 40
	tui_wait main "F5/c Run check  F6/m Build manifest"
	tui_screen main >../a120
	test "$(wc -l <../a120)" = 40
	/usr/bin/python3 -c "import sys; sys.exit(any(len(l.rstrip(chr(10))) > 120 for l in open(sys.argv[1], encoding=chr(117)+chr(116)+chr(102)+chr(56))))" ../a120
	grep "F5/c Run check  F6/m Build manifest  F8/a Approve  F9/p Publish" ../a120
	tui_tmux resize-window -t main -x 80 -y 24
	tui_wait main "F5/c Run  F6/m Manifest"
	tui_screen main | sed 1d >../b80
	test_cmp ../a80 ../b80
'

test_expect_success 'q quits and puts the terminal back; after SIGTERM too (stty: echo and icanon)' '
	cd repo
	tui_keys main q
	tui_wait main "<exited> 0"
	tui_tmux new-session -d -s term -x 80 -y 24 -c "$TRASH/repo" sh
	tui_keys term "clean-release tui" Enter
	tui_wait term "Candidates"
	pid=$(pgrep -n -f "^clean-release tui")
	kill -TERM "$pid"
	# Gone before anything is typed (it would read the keys until it is).
	i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); test $i -lt 100; sleep 0.05; done
	tui_keys term "stty -a >$TRASH/stty.txt; echo stty-done" Enter
	tui_wait term "stty-done"
	grep -E "(^| )echo( |$)" "$TRASH/stty.txt"
	grep -E "(^| )icanon( |$)" "$TRASH/stty.txt"
	test_must_fail grep -E "(^| )-echo( |$)" "$TRASH/stty.txt"
	tui_keys term "clean-release tui" Enter
	tui_wait term "Candidates"
	pid=$(pgrep -n -f "^clean-release tui")
	kill -INT "$pid"
	i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); test $i -lt 100; sleep 0.05; done
	tui_keys term "stty -a >$TRASH/stty2.txt; echo stty2-done" Enter
	tui_wait term "stty2-done"
	grep -E "(^| )icanon( |$)" "$TRASH/stty2.txt"
'

test_expect_success '--demo tui: DEMO in the header, none of the real candidates, and it writes only demo refs' '
	cd repo
	clean-release --demo -q candidate register --candidate-id demo-1 --version 1 --source-snapshot v1.2.0-rc1
	clean-release --demo -q candidate import-artifacts --candidate-id demo-1 --input ../art/artifacts.json
	git for-each-ref --format="%(refname) %(objectname)" refs/clean-release refs/notes/clean-release >../real-before
	tui_start demo "$TRASH/repo" "clean-release --demo tui"
	tui_wait demo "clean-release · DEMO · repo: repo"
	tui_wait demo "Candidate demo-1"
	tui_screen demo >../d1
	test_must_fail grep "2026.03" ../d1
	grep "║" ../d1
	grep "═══" ../d1
	tui_keys demo F6
	tui_keys demo y
	tui_wait demo "Built man-001"
	git for-each-ref --format="%(refname) %(objectname)" refs/clean-release refs/notes/clean-release >../real-after
	test_cmp ../real-before ../real-after
	test "$(clean-release --demo --json candidate show --candidate-id demo-1 | jq -r .status)" = MANIFEST_BUILT
	tui_keys demo q
	tui_wait demo "<exited> 0"
'
