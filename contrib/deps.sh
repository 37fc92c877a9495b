#!/bin/sh
# Installs every Debian package that clean-release needs to build, test, run
# its demo and its benchmarks. Nothing else is assumed present.
set -eu
PKGS="build-essential pkg-config git ca-certificates openssh-client \
 libgit2-dev libcjson-dev libpcre2-dev libssl-dev libmicrohttpd-dev libncurses-dev \
 libvectorscan-dev libcmocka-dev \
 python3 python3-jsonschema python3-yaml \
 bats perl tmux jq curl procps util-linux ripgrep hyperfine wrk nginx"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# npm (for the tools below) from Debian's nodejs and npm, unless a node
# install that brings its own npm is there already.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if [ -z "$missing" ]; then
	echo "deps: all Debian packages present"
else
	echo "deps: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# From the npm registry, pinned: the OpenAPI linter the API tests run, and
# the SARIF validator the CI tests run (a self-contained binary).
NPM_TOOLS="@redocly/cli@2.77.0:redocly @microsoft/sarif-multitool@5.7.0:sarif-multitool"
for t in $NPM_TOOLS; do
	pkg=${t%:*} bin=${t##*:} want=${pkg##*@}
	if command -v "$bin" >/dev/null 2>&1; then
		case " $("$bin" --version 2>&1) " in
		*[!0-9.]"$want"[!0-9.]*) continue ;;
		esac
	fi
	echo "deps: npm install -g $pkg"
	$SUDO npm install -g --no-fund --no-audit "$pkg"
done
