#!/bin/sh
# Installs every Debian package that clean-release needs to build, test, run
# its demo and its benchmarks. Nothing else is assumed present.
set -eu
PKGS="build-essential pkg-config git ca-certificates \
 libgit2-dev libcjson-dev libpcre2-dev libssl-dev libmicrohttpd-dev libncurses-dev \
 libvectorscan-dev libcmocka-dev \
 python3 python3-jsonschema python3-yaml \
 bats perl tmux jq curl procps util-linux ripgrep hyperfine"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
