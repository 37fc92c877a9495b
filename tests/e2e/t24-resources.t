#!/bin/sh
# t24-resources: a 4 GiB artifact (sparse, with one real matching line
# appended at its end) is imported and scanned in bounded memory — peak RSS
# under 64 MiB in every process (see LIMIT_MB) — and the match is found at
# the right line, column and 64-bit offset.
#
# Memory is measured two independent ways. /usr/bin/time -v reports the
# ru_maxrss that wait4() returns for the runner, which on Linux is the
# largest peak of the runner and of every descendant it reaped (its
# workers). And the test samples VmHWM (the peak RSS so far) in
# /proc/PID/status of the runner and of each worker while the run goes on,
# including while a worker has the 4 GiB file open.
. "$(dirname "$0")/lib.sh"

# 64 MiB. A sanitizer build (make SANITIZE=1) cannot be held to that: ASan's
# shadow memory and its 256 MiB quarantine of freed blocks are not the
# tool's; there the bound only proves that no artifact is read into memory.
LIMIT_MB=64
if grep -q __asan_init "$CR_PREFIX/bin/git-clean-release"; then
	LIMIT_MB=320
fi
LIMIT_KB=$((LIMIT_MB * 1024))

test_expect_success '/usr/bin/time is installed (Debian package "time"): this file measures peak RSS with it' '
	test -x /usr/bin/time
'

test_expect_success 'setup: the acme policy and a 4 GiB sparse artifact whose last line has an external URL' '
	new_repo repo
	cd repo
	publish_acme_policy
	mkdir -p ../art/dist
	printf "header 1\nheader 2\nheader 3\n" >../art/dist/huge.img
	truncate -s 4G ../art/dist/huge.img
	printf "\n\ncall https://exfil.evil.example/upload\n" >>../art/dist/huge.img
	test "$(size_of ../art/dist/huge.img)" = $((4294967296 + 41))
	printf "small and clean\n" >../art/dist/small.txt
	artifacts_doc >../art/artifacts.json <<-\EOF
	dist/huge.img build:acme-ci/orders/9/image
	dist/small.txt build:acme-ci/orders/9/pkg
	EOF
	clean-release -q candidate register --candidate-id huge --version 1.0.0 --source-snapshot v1.2.0-rc1 --actor release-bot
'

test_expect_success "import of the 4 GiB artifact hashes it in under $LIMIT_MB MiB of RSS" '
	cd repo
	/usr/bin/time -v -o ../import.time clean-release -q candidate import-artifacts --candidate-id huge \
		--input ../art/artifacts.json --actor release-bot
	rss=$(sed -n "s/^[[:space:]]*Maximum resident set size (kbytes): //p" ../import.time)
	echo "import peak RSS: $rss kB"
	test -n "$rss"
	test "$rss" -lt '"$LIMIT_KB"'
	m=$(clean-release --json manifest build --candidate-id huge --actor release-bot | jq -r .manifest_id)
	echo $m >../manifest
	clean-release manifest show --manifest-id $m --json |
		jq -e ".artifacts[] | select(.path == \"dist/huge.img\") | .size == 4294967337" >/dev/null
'

test_expect_success "the scan of the 4 GiB artifact (--jobs 2): peak RSS under $LIMIT_MB MiB in the runner and in each worker" '
	cd repo
	/usr/bin/time -v -o ../run.time clean-release compliance run --candidate-id huge --manifest-id $(cat ../manifest) \
		--actor release-bot --jobs 2 --json >../run.json 2>../run.err &
	bg=$!
	end=$(( $(date +%s) + 10 ))
	while run=$(clean-release candidate show --candidate-id huge --json | jq -r .latest_run_id) && [ "$run" = null ]; do
		test "$(date +%s)" -lt $end
		sleep 0.05
	done
	runner=$(wait_runner $(run_field $run task_id))
	: >../samples
	# Sample until the runner is gone: "PID VmHWM-kB [huge]" per process.
	while kill -0 $runner 2>/dev/null; do
		for p in $runner $(pgrep -P $runner); do
			hwm=$(sed -n "s/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$p/status 2>/dev/null || :)
			test -n "$hwm" || continue
			mark=
			if ls -l /proc/$p/fd 2>/dev/null | grep -q "/dist/huge.img\$"; then mark=huge; fi
			echo "$p $hwm $mark" >>../samples
		done
		sleep 0.1
	done
	set +e
	wait $bg
	rc=$?
	set -e
	test $rc = 1
	rss=$(sed -n "s/^[[:space:]]*Maximum resident set size (kbytes): //p" ../run.time)
	echo "runner and reaped workers, peak RSS: $rss kB"
	test -n "$rss"
	test "$rss" -lt '"$LIMIT_KB"'
	awk -v r=$runner "\$1 != r && \$3 == \"huge\"" ../samples >../huge-samples
	echo "samples of the worker scanning dist/huge.img: $(wc -l <../huge-samples)"
	test "$(wc -l <../huge-samples)" -ge 3
	test "$(awk -v r=$runner "\$1 != r" ../samples | cut -d" " -f1 | sort -u | wc -l)" -ge 1
	awk "{ if (\$2 > max[\$1]) max[\$1] = \$2 } END { for (p in max) print p, max[p] }" ../samples | sort >../peaks
	cat ../peaks
	awk -v lim='"$LIMIT_KB"' "\$2 >= lim { print \"process \" \$1 \" peaked at \" \$2 \" kB\"; bad = 1 } END { exit bad }" ../peaks
'

test_expect_success 'the run is BLOCKED by the one appended URL, found at line 6, column 6, offset 4294967303; everything else passes' '
	cd repo
	validate_openapi ComplianceRun ../run.json
	jq -e ".status == \"SUCCEEDED\" and .final_status == \"BLOCKED\"
	       and .progress.artifacts_done == 2" ../run.json >/dev/null
	run=$(json_get ../run.json run_id)
	clean-release compliance violations --run-id $run --json >../violations.json
	validate_openapi ViolationList ../violations.json
	jq -cS ".violations[] | [.stage, .rule_id, .artifact_path, .location, .excerpt]" ../violations.json >../found
	echo "[\"NO_EXTERNAL_ENDPOINTS\", \"external-url\", \"dist/huge.img\",
	       {\"line\": 6, \"column\": 6, \"offset\": 4294967303}, \"call https://exfil.evil.example/upload\"]" |
		jq -cS . >../found.expect
	test_cmp ../found.expect ../found
	clean-release compliance report --run-id $run --json >../report.json || :
	test "$(jq -r "[.stages[].status] | join(\" \")" ../report.json)" = "PASSED PASSED FAILED PASSED"
	test "$(jq -r ".stages[3].artifacts_checked" ../report.json)" = 2
'
