# tests/e2e/lib.sh — sourced by every end-to-end script (TAP for prove).
#
# Each case runs its body in a fresh `sh -e` with this file sourced, inside
# the script's scratch directory, the way git's t/ does: the first failing
# command fails the case. The installed binary comes from $CR_PREFIX/bin.
# Every repository the script leaves behind must pass `git fsck --strict`.

: "${CR_PREFIX:?run through make test (CR_PREFIX is the staged install)}"
PATH="$CR_PREFIX/bin:$PATH"
export PATH CR_PREFIX
# Inside a case $0 is the case's sh, so keep the directory found by the script.
if [ -z "${CR_IN_CASE:-}" ] || [ -z "${CR_TESTS_DIR:-}" ]; then
	CR_TESTS_DIR="$(cd "$(dirname "$0")" && pwd)"
fi
export CR_TESTS_DIR
export CR_LIB="$CR_TESTS_DIR/lib.sh"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
export LC_ALL=C

if [ -z "${CR_IN_CASE:-}" ]; then
	TRASH=$(mktemp -d "${TMPDIR:-/tmp}/cr-e2e.XXXXXX")
	export TRASH
	cr_n=0
	cr_failed=0
	trap 'cr_finish' EXIT
fi
# A fresh HOME for the script and for each case, in the trash (removed with it).
export HOME="${CR_TEST_HOME:-$(mktemp -d "$TRASH/.home.XXXXXX")}"

# test_expect_success TITLE BODY
test_expect_success() {
	cr_n=$((cr_n + 1))
	if (cd "$TRASH" && CR_IN_CASE=1 sh -e -c ". \"$CR_LIB\"; $2") >"$TRASH/.case.out" 2>&1; then
		echo "ok $cr_n - $1"
	else
		echo "not ok $cr_n - $1"
		# On stderr, so that prove shows why without -v (CI logs).
		sed "s/^/# $cr_n: /" "$TRASH/.case.out" >&2
		cr_failed=$((cr_failed + 1))
	fi
}

# test_expect_code CODE CMD... — CMD must exit with CODE.
test_expect_code() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "expected exit $want, got $got: $*" >&2
		return 1
	fi
}

# check_refs_unchanged BEFORE_FILE — every ref is as recorded in BEFORE_FILE.
refs_snapshot() { git for-each-ref --format='%(refname) %(objectname)' | sort; }

# new_repo DIR — a repository with one commit tagged v1.2.0-rc1.
new_repo() {
	git init -q "$1" &&
	(cd "$1" && echo hello >README && git add README &&
	 git commit -q -m init && git tag v1.2.0-rc1)
}

# json_get FILE KEY — a top-level string/number field of a JSON document.
json_get() { jq -r ".$2" "$1"; }

# validate_openapi COMPONENT FILE — FILE validates against the OpenAPI component.
validate_openapi() {
	/usr/bin/python3 "$CR_TESTS_DIR/validate.py" openapi "$1" "$2"
}
# validate_schema SCHEMA_FILE FILE — FILE validates against a schemas/ file.
validate_schema() {
	/usr/bin/python3 "$CR_TESTS_DIR/validate.py" schema "$1" "$2"
}

cr_finish() {
	rc=$?
	if [ -z "${CR_IN_CASE:-}" ]; then
		# A tmux server of the TUI tests.
		[ -S "$TRASH/tmux.sock" ] && tmux -S "$TRASH/tmux.sock" kill-server 2>/dev/null
		# Servers the cases started and left running.
		if [ -f "$TRASH/.kill-at-exit" ]; then
			for p in $(cat "$TRASH/.kill-at-exit"); do kill "$p" 2>/dev/null || true; done
		fi
		# Every repository left behind must be clean for git fsck --strict.
		for g in $(find "$TRASH" -type f -name HEAD 2>/dev/null | sort); do
			d=$(dirname "$g")
			[ -d "$d/objects" ] && [ -d "$d/refs" ] || continue
			cr_n=$((cr_n + 1))
			if git --git-dir="$d" fsck --strict --no-progress >"$TRASH/.fsck" 2>&1; then
				echo "ok $cr_n - git fsck --strict is clean on ${d#$TRASH/}"
			else
				echo "not ok $cr_n - git fsck --strict is clean on ${d#$TRASH/}"
				sed 's/^/# /' "$TRASH/.fsck"
				cr_failed=$((cr_failed + 1))
			fi
		done
		echo "1..$cr_n"
		[ -n "${CR_KEEP:-}" ] || rm -rf "$TRASH"
		[ "$cr_failed" = 0 ] || exit 1
		exit 0
	fi
}

# ---- helpers shared by t10..t15 -------------------------------------------

# test_cmp EXPECTED ACTUAL — the files are identical (the diff is shown if not).
test_cmp() { diff -u "$1" "$2"; }

# check_refs_unchanged BEFORE_FILE — every ref is as recorded by refs_snapshot.
check_refs_unchanged() {
	refs_snapshot >"$1.now"
	diff -u "$1" "$1.now"
}

# objects_snapshot — every object id of the current repository, sorted.
objects_snapshot() {
	git cat-file --batch-all-objects --batch-check='%(objectname)' | sort
}

# check_one_error STDERR_FILE — exactly one "clean-release: error: …" line,
# optionally followed by one "hint: …" line, and nothing else.
check_one_error() {
	cr_lines=$(awk 'END { print NR }' "$1")
	if ! head -n 1 "$1" | grep -q '^clean-release: error: .'; then
		echo "stderr does not start with 'clean-release: error:':" >&2
		sed 's/^/| /' "$1" >&2
		return 1
	fi
	if [ "$cr_lines" = 2 ] && sed -n 2p "$1" | grep -q '^hint: .'; then
		return 0
	fi
	if [ "$cr_lines" != 1 ]; then
		echo "stderr is not one error line (+ one hint line): $cr_lines lines:" >&2
		sed 's/^/| /' "$1" >&2
		return 1
	fi
}

# test_refuses CODE CMD... — CMD exits CODE, prints one error line (and at
# most a hint) on stderr, and writes nothing: every ref and the set of
# objects of the current repository are as before. CMD's stdout and stderr
# are left in $TRASH/.cr-out and $TRASH/.cr-err.
test_refuses() {
	cr_want=$1
	shift
	refs_snapshot >"$TRASH/.cr-refs"
	objects_snapshot >"$TRASH/.cr-objs"
	set +e
	"$@" >"$TRASH/.cr-out" 2>"$TRASH/.cr-err"
	cr_got=$?
	set -e
	if [ "$cr_got" != "$cr_want" ]; then
		echo "expected exit $cr_want, got $cr_got: $*" >&2
		sed 's/^/| /' "$TRASH/.cr-err" >&2
		return 1
	fi
	check_one_error "$TRASH/.cr-err"
	check_refs_unchanged "$TRASH/.cr-refs"
	objects_snapshot >"$TRASH/.cr-objs.now"
	if ! diff -u "$TRASH/.cr-objs" "$TRASH/.cr-objs.now" >&2; then
		echo "objects were written by: $*" >&2
		return 1
	fi
}

# sha256_of FILE — lowercase hex SHA-256 of FILE's bytes.
sha256_of() { sha256sum "$1" | cut -c1-64; }

# size_of FILE — FILE's size in bytes.
size_of() { wc -c <"$1" | tr -d ' '; }

# random_u16 — a random number 0..65535 (sh has no $RANDOM).
random_u16() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }

# ledger_ref [--demo] — the ledger ref of the namespace.
ledger_ref() {
	if [ "${1:-}" = --demo ]; then echo refs/clean-release-demo/ledger; else echo refs/clean-release/ledger; fi
}

# ledger_commits [REF] — number of commits on the ledger (0 if none).
ledger_commits() {
	git rev-list --count "${1:-refs/clean-release/ledger}" 2>/dev/null || echo 0
}

# write_policy DIR — a valid policy.json and registry.json in DIR.
write_policy() {
	cat >"$1/policy.json" <<-'JSON'
	{
	  "policy_id": "e2e-policy",
	  "version": 1,
	  "description": "policy of the end-to-end tests",
	  "release_tag_pattern": "^refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$",
	  "rules": [
	    {"id": "no-test-data", "stage": "DATA_PURITY", "severity": "BLOCKER",
	     "description": "no test data", "path_pattern": "(^|/)tests?/"},
	    {"id": "no-private-key", "stage": "DATA_PURITY", "severity": "BLOCKER",
	     "description": "no PEM keys", "content_pattern": "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"},
	    {"id": "no-external-url", "stage": "NO_EXTERNAL_ENDPOINTS", "severity": "BLOCKER",
	     "description": "no external hosts", "endpoint_pattern": "https?://([A-Za-z0-9.-]+)"}
	  ]
	}
	JSON
	cat >"$1/registry.json" <<-'JSON'
	{
	  "registry_id": "e2e-registry",
	  "version": 1,
	  "allowed_sources": [
	    {"id": "nexus", "prefix": "https://nexus.example.internal/repository/"},
	    {"id": "ci", "prefix": "build:ci/"}
	  ],
	  "allowed_hosts": ["nexus.example.internal", "*.svc.example.internal"]
	}
	JSON
}

# canon CMD ARGS... — tests/e2e/canon.py: independent canonical-JSON checks.
canon() { /usr/bin/python3 "$CR_TESTS_DIR/canon.py" "$@"; }

# validate_error FILE — FILE is {"error":{"code":…,"message":…}} (OpenAPI ErrorInfo).
validate_error() {
	jq -e "keys == [\"error\"]" "$1" >/dev/null || { echo "$1: not an error document" >&2; cat "$1" >&2; return 1; }
	jq .error "$1" >"$1.info"
	validate_openapi ErrorInfo "$1.info"
}

# test_must_fail CMD... — CMD fails (use it instead of "! CMD", which sh -e ignores).
test_must_fail() {
	if "$@"; then
		echo "unexpectedly succeeded: $*" >&2
		return 1
	fi
}

# test_exit CODE CMD... — CMD exits CODE; its stdout and stderr are left in
# $TRASH/.cr-out and $TRASH/.cr-err (stderr is shown when the code differs).
test_exit() {
	cr_want=$1
	shift
	set +e
	"$@" >"$TRASH/.cr-out" 2>"$TRASH/.cr-err"
	cr_got=$?
	set -e
	if [ "$cr_got" != "$cr_want" ]; then
		echo "expected exit $cr_want, got $cr_got: $*" >&2
		sed 's/^/| /' "$TRASH/.cr-err" >&2
		return 1
	fi
}

# ledger_forge TIP UPDATE-INDEX-ARGS... — print a commit made by hand with git
# plumbing: TIP's tree edited by `git update-index ARGS`, parent TIP, TIP's
# message (so only the edit is wrong). Writes no ref.
ledger_forge() {
	cr_tip=$1
	shift
	GIT_INDEX_FILE="$TRASH/.cr-forge.idx" git read-tree "$cr_tip"
	GIT_INDEX_FILE="$TRASH/.cr-forge.idx" git update-index --add "$@"
	cr_tree=$(GIT_INDEX_FILE="$TRASH/.cr-forge.idx" git write-tree)
	rm -f "$TRASH/.cr-forge.idx"
	git log -1 --format=%B "$cr_tip" | git commit-tree "$cr_tree" -p "$cr_tip"
}

# fanout ID — the a/b/c fanout directory of an id (first 3 hex of its sha256).
fanout() { printf %s "$1" | sha256sum | sed 's|^\(.\)\(.\)\(.\).*|\1/\2/\3|'; }

# ---- helpers shared by t20..t29 -------------------------------------------

# acme_policy DIR [JQ_FILTER] — fixtures/acme-policy.json (edited by the jq
# filter) and fixtures/acme-registry.json as DIR/policy.json, DIR/registry.json.
acme_policy() {
	mkdir -p "$1" &&
	jq "${2:-.}" "$CR_TESTS_DIR/fixtures/acme-policy.json" >"$1/policy.json" &&
	cp "$CR_TESTS_DIR/fixtures/acme-registry.json" "$1/registry.json"
}

# publish_acme_policy [JQ_FILTER] — publish that policy in the current repository.
publish_acme_policy() {
	cr_pol=$(mktemp -d "$TRASH/.policy.XXXXXX") &&
	acme_policy "$cr_pol" "${1:-.}" &&
	clean-release -q policy publish --policy "$cr_pol/policy.json" \
		--registry "$cr_pol/registry.json" --actor security-officer
}

# artifacts_doc — an artifacts document on stdout, from "PATH SOURCE" lines on
# stdin (SOURCE "-": the artifact has no source).
artifacts_doc() {
	jq -Rn '{artifacts: [inputs | select(length > 0) | split(" ")
	  | if .[1] == "-" then {path: .[0]} else {path: .[0], source: .[1]} end]}'
}

# make_candidate ID INPUT — register ID at v1.2.0-rc1, import INPUT, build a
# manifest; print the manifest id.
make_candidate() {
	clean-release -q candidate register --candidate-id "$1" --version 1.0.0 \
		--source-snapshot v1.2.0-rc1 --actor release-bot &&
	clean-release -q candidate import-artifacts --candidate-id "$1" --input "$2" --actor release-bot &&
	clean-release --json manifest build --candidate-id "$1" --actor release-bot | jq -er .manifest_id
}

# now_ms — milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run_field RUN_ID FIELD — a field of `compliance status --run-id RUN_ID --json`.
run_field() { clean-release compliance status --run-id "$1" --json | jq -r ".$2"; }

# candidate_status ID — the status of candidate ID.
candidate_status() { clean-release candidate show --candidate-id "$1" --json | jq -r .status; }

# wait_run_finished RUN_ID [SECONDS] — poll `compliance status` until the run
# is SUCCEEDED or FAILED; fail after SECONDS (default 30).
wait_run_finished() {
	cr_end=$(( $(date +%s) + ${2:-30} ))
	while :; do
		cr_st=$(run_field "$1" status) || return 1
		case $cr_st in SUCCEEDED|FAILED) return 0 ;; esac
		if [ "$(date +%s)" -ge "$cr_end" ]; then
			echo "run $1 is still $cr_st after ${2:-30} s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# task_file TASK_ID — the task manager's state file of TASK_ID.
task_file() { echo "$(git rev-parse --absolute-git-dir)/clean-release/tasks/$1.json"; }

# wait_runner TASK_ID [SECONDS] — wait until the task is RUNNING with a pid
# and its run's started event is recorded (the runner writes it while its
# workers scan, so a case that counts ledger commits must not race it);
# 30 s at most by default; print the pid, the runner's.
wait_runner() {
	cr_tf=$(task_file "$1")
	cr_end=$(( $(date +%s) + ${2:-30} ))
	while :; do
		cr_pid=$(jq -r 'if .status == "RUNNING" and .pid != null then .pid else empty end' \
			"$cr_tf" 2>/dev/null || :)
		if [ -n "$cr_pid" ] &&
		   [ "$(run_field "$(jq -r .run_id "$cr_tf")" status)" != PENDING ]; then
			echo "$cr_pid"
			return 0
		fi
		if [ "$(date +%s)" -ge "$cr_end" ]; then
			echo "task $1 has no RUNNING runner after ${2:-30} s:" >&2
			cat "$cr_tf" >&2 2>/dev/null || :
			return 1
		fi
		sleep 0.05
	done
}

# worker_on RUNNER_PID FILE [SECONDS] — find the worker process of RUNNER_PID
# that has FILE (an absolute path) open or mapped, within SECONDS (default
# 20); print its pid and leave it stopped (SIGSTOP), so that it cannot finish
# the file before the caller decides: kill -KILL or kill -CONT it. Each worker
# is stopped while it is looked at; the others are let go again.
worker_on() {
	cr_end=$(( $(date +%s) + ${3:-20} ))
	while :; do
		for cr_w in $(pgrep -P "$1"); do
			kill -STOP "$cr_w" 2>/dev/null || continue
			if ls -l "/proc/$cr_w/fd" 2>/dev/null | grep -qF -- "-> $2" ||
			   grep -qF -- " $2" "/proc/$cr_w/maps" 2>/dev/null; then
				echo "$cr_w"
				return 0
			fi
			kill -CONT "$cr_w" 2>/dev/null || :
		done
		if [ "$(date +%s)" -ge "$cr_end" ] || ! kill -0 "$1" 2>/dev/null; then
			echo "no worker of $1 was seen with $2 open" >&2
			return 1
		fi
		sleep 0.02
	done
}

# kill_worker_on RUNNER_PID FILE [SECONDS] — SIGKILL the worker of RUNNER_PID
# that has FILE open (see worker_on); print its pid.
kill_worker_on() {
	cr_kw=$(worker_on "$@") || return 1
	kill -KILL "$cr_kw"
	echo "$cr_kw"
}

# procs_gone PID... — within 10 s none of the processes runs any more (a
# zombie waiting for its reaper counts as gone).
procs_gone() {
	cr_end=$(( $(date +%s) + 10 ))
	for cr_p in "$@"; do
		while cr_s=$(ps -o stat= -p "$cr_p" 2>/dev/null) && [ -n "$cr_s" ] && [ "${cr_s#Z}" = "$cr_s" ]; do
			if [ "$(date +%s)" -ge "$cr_end" ]; then
				echo "process $cr_p is still there ($cr_s): $(ps -o args= -p "$cr_p")" >&2
				return 1
			fi
			sleep 0.1
		done
	done
}

# report_digest_ok REPORT.json — report_digest is the sha256 of the canonical
# JSON of every other field (recomputed with Debian's python3).
report_digest_ok() {
	/usr/bin/python3 -c '
import hashlib, json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    doc = json.load(f)
want = doc.pop("report_digest")
got = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False).encode("utf-8")).hexdigest()
if got != want:
    sys.exit("report_digest is %s, recomputed %s" % (want, got))
' "$1"
}

# gate_refused TYPE STATUS CMD... — CMD is refused by a lifecycle gate: exit 3,
# one error line (and at most a hint), and the ledger gains exactly one commit
# that only adds one REFUSED audit event of type TYPE, recording the
# candidate's STATUS and the error printed; no other ref moves. The message and
# the event name the candidate of CMD's --candidate-id. CMD's stdout and
# stderr are left in $TRASH/.cr-out and $TRASH/.cr-err. (The event is not
# schema-checked here, to keep this cheap: validate the audit log once.)
gate_refused() {
	cr_type=$1
	cr_status=$2
	shift 2
	cr_cid=
	cr_prev=
	for cr_a in "$@"; do
		[ "$cr_prev" = --candidate-id ] && cr_cid=$cr_a
		cr_prev=$cr_a
	done
	cr_tip=$(git rev-parse refs/clean-release/ledger)
	refs_snapshot | grep -v '^refs/clean-release/ledger ' >"$TRASH/.cr-grefs" || :
	test_exit 3 "$@"
	check_one_error "$TRASH/.cr-err"
	refs_snapshot | grep -v '^refs/clean-release/ledger ' >"$TRASH/.cr-grefs.now" || :
	test_cmp "$TRASH/.cr-grefs" "$TRASH/.cr-grefs.now"
	if [ "$(git rev-parse refs/clean-release/ledger^ 2>/dev/null)" != "$cr_tip" ]; then
		echo "the ledger did not gain exactly one commit on $cr_tip:" >&2
		git log --oneline "$cr_tip..refs/clean-release/ledger" >&2
		return 1
	fi
	git diff-tree -r --no-commit-id --name-status "$cr_tip" refs/clean-release/ledger >"$TRASH/.cr-gdiff"
	if grep -v '^A	' "$TRASH/.cr-gdiff" >&2 ||
	   [ "$(sed 's|.*/||' "$TRASH/.cr-gdiff" | sort -u | wc -l)" != 1 ] ||
	   ! sed 's|.*/||' "$TRASH/.cr-gdiff" | grep -qE '^evt-[0-9]{3,}\.json$'; then
		echo "the refusal commit adds more than one audit event:" >&2
		cat "$TRASH/.cr-gdiff" >&2
		return 1
	fi
	cr_evt=$(sed -n '1s|.*/\(evt-[0-9]*\)\.json$|\1|p' "$TRASH/.cr-gdiff")
	clean-release audit log --json | jq '.events[-1]' >"$TRASH/.cr-gevt.json"
	cr_msg=$(sed -n '1s/^clean-release: error: //p' "$TRASH/.cr-err")
	if ! jq -e --arg id "$cr_evt" --arg type "$cr_type" --arg st "$cr_status" --arg msg "$cr_msg" \
		--arg cid "$cr_cid" \
		'.event_id == $id and .type == $type and .outcome == "REFUSED" and
		 .details.status == $st and .details.error.message == $msg and
		 ($cid == "" or .candidate_id == $cid)' "$TRASH/.cr-gevt.json" >/dev/null; then
		echo "the last audit event is not the REFUSED $cr_type ($cr_status) of $cr_evt of candidate ${cr_cid:-?} with: $cr_msg" >&2
		cat "$TRASH/.cr-gevt.json" >&2
		return 1
	fi
	if [ -n "$cr_cid" ] && ! grep -qF -- "$cr_cid" "$TRASH/.cr-err"; then
		echo "the refusal does not name the candidate $cr_cid" >&2
		return 1
	fi
}

# ledger_verify_at COMMIT [ARGS...] — run `clean-release verify ARGS` with
# refs/clean-release/ledger moved to COMMIT, then move the ref back (whatever
# verify said); returns verify's exit code. Use with test_exit.
ledger_verify_at() {
	cr_at=$1
	shift
	cr_old=$(git rev-parse refs/clean-release/ledger)
	git update-ref refs/clean-release/ledger "$cr_at" "$cr_old" || return 99
	if clean-release verify "$@"; then cr_rc=0; else cr_rc=$?; fi
	git update-ref refs/clean-release/ledger "$cr_old" "$cr_at" || return 98
	return $cr_rc
}

# cache_of MID — the local cache entry of manifest MID, named by the
# manifest's object id.
cache_of() {
	echo "$(git rev-parse --absolute-git-dir)/clean-release/cache/manifest-$(git rev-parse \
		"refs/clean-release/ledger:ids/man/$(fanout "$1")/$1.json").bin"
}

# pack OP FILE ARGS... — tests/e2e/manifest_pack.py: read or edit a packed manifest.
pack() { /usr/bin/python3 "$CR_TESTS_DIR/manifest_pack.py" "$@"; }

# ---- the REST API (t40..) --------------------------------------------------

# serve_start [ARGS...] — `clean-release serve --listen 127.0.0.1:0 ARGS` in
# the current directory's repository, in the background, until it says
# where it listens: its base URL in $TRASH/.serve-url, its pid in
# $TRASH/.serve-pid, its log (start-up line, access log) in $TRASH/serve.log.
serve_start() {
	rm -f "$TRASH/.serve-url"
	# Emptied here, not only by the new server's redirection: until that
	# shell runs, the poll below would read the last server's URL.
	: >"$TRASH/serve.log"
	clean-release serve --listen 127.0.0.1:0 "$@" >/dev/null 2>"$TRASH/serve.log" &
	echo $! >"$TRASH/.serve-pid"
	echo $! >>"$TRASH/.kill-at-exit"
	cr_i=0
	while [ $cr_i -lt 200 ]; do
		cr_u=$(sed -n 's|^clean-release serve: \(http://[^ ]*\) namespace.*|\1|p' "$TRASH/serve.log")
		if [ -n "$cr_u" ]; then
			echo "$cr_u" >"$TRASH/.serve-url"
			return 0
		fi
		kill -0 "$(cat "$TRASH/.serve-pid")" 2>/dev/null || break
		sleep 0.05
		cr_i=$((cr_i + 1))
	done
	echo "serve did not start:" >&2
	cat "$TRASH/serve.log" >&2
	return 1
}

# serve_stop [SIGNAL] — stop the server (TERM by default) and wait until it is gone.
serve_stop() {
	cr_pid=$(cat "$TRASH/.serve-pid")
	kill -"${1:-TERM}" "$cr_pid" 2>/dev/null || true
	cr_i=0
	while kill -0 "$cr_pid" 2>/dev/null; do
		[ $cr_i -lt 300 ] || { echo "serve $cr_pid did not stop" >&2; return 1; }
		sleep 0.05
		cr_i=$((cr_i + 1))
	done
	# A sanitizer build reports into the log: a report fails the case.
	if grep -q "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$TRASH/serve.log"; then
		echo "sanitizer report in the server log:" >&2
		cat "$TRASH/serve.log" >&2
		return 1
	fi
}

# api METHOD PATH [CURL-ARGS...] — one request to the server (PATH below the
# base), with $TOKEN as the bearer token when set. The body answered is in
# $TRASH/.api-out, the status in $TRASH/.api-status (and printed); every
# answer is listed in $TRASH/.api-log for api_validate_all.
api() {
	cr_m=$1
	cr_p=$2
	shift 2
	mkdir -p "$TRASH/.api"
	cr_k=$(( $(cat "$TRASH/.api-n" 2>/dev/null || echo 0) + 1 ))
	echo "$cr_k" >"$TRASH/.api-n"
	if [ -n "${TOKEN:-}" ]; then
		set -- -H "Authorization: Bearer $TOKEN" "$@"
	fi
	cr_s=$(curl -sS -o "$TRASH/.api/$cr_k" -w '%{http_code}' -X "$cr_m" "$@" "$(cat "$TRASH/.serve-url")$cr_p") || cr_s=000
	if [ "$cr_s" = 000 ]; then
		# No answer: say whether the server is there, and what it logged.
		kill -0 "$(cat "$TRASH/.serve-pid")" 2>/dev/null && echo "(the server is running)" >&2 ||
			echo "(the server is gone)" >&2
		tail -n 20 "$TRASH/serve.log" >&2
		: >"$TRASH/.api/$cr_k"
	fi
	printf '%s\t%s\t%s\t%s\n' "$cr_m" "/api/clean-release$cr_p" "$cr_s" "$TRASH/.api/$cr_k" >>"$TRASH/.api-log"
	cp "$TRASH/.api/$cr_k" "$TRASH/.api-out"
	echo "$cr_s" >"$TRASH/.api-status"
	echo "$cr_s"
}

# api_expect STATUS METHOD PATH [CURL-ARGS...] — api, answered STATUS (the
# body is shown when not).
api_expect() {
	cr_want=$1
	shift
	cr_got=$(api "$@")
	if [ "$cr_got" != "$cr_want" ]; then
		echo "$1 $2: want HTTP $cr_want, got $cr_got:" >&2
		cat "$TRASH/.api-out" >&2
		echo >&2
		return 1
	fi
}

# api_code — the error code of the last answer.
api_code() { jq -r .error.code "$TRASH/.api-out"; }

# api_validate_all — every answer so far matches the contract's response
# for its path, method and status.
api_validate_all() {
	/usr/bin/python3 "$CR_TESTS_DIR/validate.py" responses "$TRASH/.api-log"
}

# ---- the TUI under tmux (t60) ---------------------------------------------

# tui_tmux ARGS... — tmux on the scripts' own server (socket in $TRASH).
tui_tmux() { tmux -u -S "$TRASH/tmux.sock" "$@"; }

# tui_start SESSION DIR CMD — run the shell command CMD in DIR in a new
# detached tmux session, 80x24; the pane stays when CMD ends.
tui_start() {
	tui_tmux new-session -d -s "$1" -x 80 -y 24 -c "$2" \
		"export LC_ALL=C.UTF-8 TERM=screen-256color; $3; echo '<exited>' \$?; sleep 600"
}

# tui_screen SESSION — the pane's text now.
tui_screen() { tui_tmux capture-pane -p -t "$1"; }

# tui_wait SESSION TEXT [SECONDS] — until the pane shows TEXT (a fixed
# string), at most SECONDS (default 10); the screen is shown when not.
tui_wait() {
	cr_end=$(( $(date +%s) + ${3:-10} ))
	while :; do
		tui_screen "$1" >"$TRASH/.screen"
		grep -qF -- "$2" "$TRASH/.screen" && return 0
		if [ "$(date +%s)" -ge "$cr_end" ]; then
			echo "the screen does not show \"$2\" after ${3:-10} s:" >&2
			sed 's/^/| /' "$TRASH/.screen" >&2
			return 1
		fi
		sleep 0.1
	done
}

# tui_keys SESSION KEY... — send-keys, then a moment for the screen.
tui_keys() {
	cr_s=$1
	shift
	tui_tmux send-keys -t "$cr_s" "$@"
	sleep 0.3
}
