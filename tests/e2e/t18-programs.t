#!/bin/sh
# t18-programs: what a process loads at start. git-clean-release holds the
# CLI and the engine; the REST server and the terminal client are the
# programs clean-release-serve and clean-release-tui (libexec/clean-release/),
# which `serve` and `tui` run in their place; libgit2's HTTPS certificates
# are never loaded (docs/design.md, "Process start").
. "$(dirname "$0")/lib.sh"

LIBEXEC="$CR_PREFIX/libexec/clean-release"
export LIBEXEC

test_expect_success 'git-clean-release links neither libmicrohttpd, GnuTLS nor ncurses; each front end links its own' '
	ldd "$CR_PREFIX/bin/git-clean-release" >core.ldd
	grep -q "libgit2" core.ldd
	test -z "$(grep -E "libmicrohttpd|libgnutls|libncurses|libtinfo" core.ldd)"
	ldd "$LIBEXEC/clean-release-serve" >serve.ldd
	grep -q libmicrohttpd serve.ldd
	test -z "$(grep -E "libncurses" serve.ldd)"
	ldd "$LIBEXEC/clean-release-tui" >tui.ldd
	grep -q libncursesw tui.ldd
	test -z "$(grep -E "libmicrohttpd|libgnutls" tui.ldd)"
'

test_expect_success 'libgit2 loads no CA bundle: its certificate parser is the program'"'"'s, which parses nothing' '
	# Debian'"'"'s libgit2 is built on mbedTLS, whose parser it calls in git_libgit2_init.
	ldd "$CR_PREFIX/bin/git-clean-release" | grep -q libmbedx509
	new_repo r
	cd r
	LD_DEBUG=bindings clean-release candidate list 2>../bind.txt >/dev/null
	grep "normal symbol .mbedtls_x509_crt_parse_file." ../bind.txt >../parse.txt
	grep -q "libgit2\.so[^ ]* \[0\] to \([^ ]*/\)\{0,1\}clean-release \[0\]" ../parse.txt
	test -z "$(grep " to [^ ]*libmbedx509" ../parse.txt)"
'

test_expect_success 'serve runs clean-release-serve in its place, -C applied once' '
	new_repo s
	mkdir elsewhere
	cd elsewhere
	clean-release -C ../s serve --listen 127.0.0.1:0 >/dev/null 2>"$TRASH/serve.log" &
	pid=$!
	echo $pid >>"$TRASH/.kill-at-exit"
	i=0
	until grep -q "^clean-release serve: http://" "$TRASH/serve.log"; do
		kill -0 $pid
		i=$((i + 1)); test $i -lt 200; sleep 0.05
	done
	test "$(readlink /proc/$pid/exe)" = "$(readlink -f "$LIBEXEC/clean-release-serve")"
	test "$(readlink /proc/$pid/cwd)" = "$(cd ../s && pwd -P)"
	test "$(tr "\0" " " </proc/$pid/cmdline)" = "clean-release serve --listen 127.0.0.1:0 "
	url=$(sed -n "s|^clean-release serve: \(http://[^ ]*\) .*|\1|p" "$TRASH/serve.log")
	curl -sf "$url/healthz" | jq -e ".status == \"ok\""
	kill -TERM $pid
	wait $pid
'

test_expect_success 'a program installed without its front ends: serve exits 5 (storage) in one line naming what is missing' '
	mkdir -p alone/bin
	cp "$CR_PREFIX/bin/git-clean-release" alone/bin/
	new_repo a
	cd a
	test_exit 5 ../alone/bin/git-clean-release serve --listen 127.0.0.1:0
	check_one_error "$TRASH/.cr-err"
	grep -q "this installation has no clean-release-serve" "$TRASH/.cr-err"
	# Its help is the program'"'"'s own, and the front end is still refused before it is looked for.
	test_exit 0 ../alone/bin/git-clean-release help serve
	grep -q "^usage: clean-release serve" "$TRASH/.cr-out"
	test_exit 2 ../alone/bin/git-clean-release serve --threads 0
'
