#!/bin/sh
# A file includes only from its own layer and the layers below it
# (contracts/modules.md): front ends -> facade -> services -> domain/ports
# -> adapters -> engine -> util.
cd "$(dirname "$0")/.." || exit 2
fail=0
check() { # DIR ALLOWED-PREFIXES...
	dir=$1
	shift
	[ -d "src/$dir" ] || return 0
	for f in $(find "src/$dir" -name '*.[ch]'); do
		grep -hoE '^#include "[^"]+"' "$f" | sed -e 's/#include "//' -e 's/"$//' | while read -r inc; do
			ok=0
			for a in "$@"; do
				case "$inc" in "$a"/*) ok=1 ;; esac
			done
			[ $ok = 1 ] || { echo "check-layers: $f includes $inc" >&2; echo x; }
		done
	done
}
out=$(
	# The CLI is the program: it hands serve, tui and hook to their front ends' entry points.
	check cli cli facade domain util api tui hooks
	check api api facade domain util
	check tui tui facade domain util
	check hooks hooks facade domain util
	check facade facade services adapters ports domain engine util
	check services services ports domain util
	check ports ports domain util
	check domain domain util
	check adapters adapters ports domain engine util
	check engine engine domain util
	check util util
)
if [ -n "$out" ]; then
	exit 1
fi
# libgit2 only in the git adapters.
if grep -rlE '#include <git2' src | grep -v '^src/adapters/git/'; then
	echo "check-layers: libgit2 used outside src/adapters/git" >&2
	exit 1
fi
echo "check-layers: ok"
