#!/bin/sh
# The embedded demo: a throwaway repository, the demo policy published, and
# one candidate walked through every step, each command printed before it
# runs. Usage: demo.sh PATH/TO/git-clean-release
set -eu
BIN=${1:?usage: demo.sh PATH/TO/git-clean-release}
HERE=$(cd "$(dirname "$0")" && pwd)
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/clean-release-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.invalid
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.invalid
mkdir -p "$DEMO/bin"
ln -s "$BIN" "$DEMO/bin/clean-release"
PATH="$DEMO/bin:$PATH"

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	set +e
	"$@"
	rc=$?
	set -e
	[ "$rc" = 0 ] || printf '(exit %s)\n' "$rc"
	return 0
}

say "a throwaway repository with a release commit, tagged v1.2.0-rc1"
cd "$DEMO"
git init -q repo
cd repo
printf 'console.log("hello");\n' >app.js
git add app.js
git commit -q -m "release 1.2.0"
git tag v1.2.0-rc1

say "the artifacts that would ship (built by CI; here made by hand)"
mkdir -p build/dist/config build/dist/tests
printf '// app\nfetch("https://api.demo.invalid/v1");\n' >build/dist/app.js
printf '{"endpoint":"https://cdn.demo.invalid/x"}\n' >build/dist/config/default.json
cat >build/artifacts.json <<'JSON'
{"artifacts":[
 {"path":"dist/app.js","source":"demo:builds/acme-app/1.2.0"},
 {"path":"dist/config/default.json","source":"demo:builds/acme-app/1.2.0"}
]}
JSON
run cat build/artifacts.json

say "publish the trusted policy (the only way to set it)"
run clean-release policy publish --policy "$HERE/demo-policy.json" --registry "$HERE/demo-registry.json" --actor release-owner
run clean-release policy show

say "register a candidate, import its artifacts, freeze a manifest"
run clean-release candidate register --candidate-id 2026.03.09-rc1 --version 1.2.0 --source-snapshot v1.2.0-rc1 --actor release-bot
run clean-release candidate import-artifacts --candidate-id 2026.03.09-rc1 --input build/artifacts.json --actor release-bot
run clean-release manifest build --candidate-id 2026.03.09-rc1 --actor release-bot
run clean-release candidate show --candidate-id 2026.03.09-rc1

say "check it against the trusted policy: four stages in a forked worker pool"
run clean-release compliance run --candidate-id 2026.03.09-rc1 --manifest-id man-001 --actor release-bot
run clean-release compliance report --run-id run-001

say "only a passed report can be approved, and only an approved candidate published"
run clean-release release publish --candidate-id 2026.03.09-rc1 --report-id rpt-001 --channel prod --actor release-owner
run clean-release release approve --candidate-id 2026.03.09-rc1 --report-id rpt-001 --actor release-owner
run clean-release release publish --candidate-id 2026.03.09-rc1 --report-id rpt-001 --channel prod --tag v1.2.0 --actor release-owner
run clean-release candidate show --candidate-id 2026.03.09-rc1

say "a second candidate ships test data, a private key and a call home: BLOCKED"
mkdir -p build2/dist/tests
printf '// app\nfetch("https://telemetry.example.com/collect");\n' >build2/dist/app.js
printf 'id,card\n1,4111111111111111\n' >build2/dist/tests/orders.csv
printf -- '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAdemoDEMOdemo\n-----END RSA PRIVATE KEY-----\n' >build2/dist/server.pem
cat >build2/artifacts.json <<'JSON'
{"artifacts":[
 {"path":"dist/app.js","source":"demo:builds/acme-app/1.2.1"},
 {"path":"dist/tests/orders.csv","source":"demo:builds/acme-app/1.2.1"},
 {"path":"dist/server.pem","source":"https://cdn.example.com/server.pem"}
]}
JSON
run clean-release candidate register --candidate-id 2026.03.16-rc1 --version 1.2.1 --source-snapshot HEAD --actor release-bot
run clean-release candidate import-artifacts --candidate-id 2026.03.16-rc1 --input build2/artifacts.json --actor release-bot
run clean-release manifest build --candidate-id 2026.03.16-rc1 --actor release-bot
run clean-release compliance run --candidate-id 2026.03.16-rc1 --manifest-id man-002 --actor release-bot
run clean-release compliance violations --run-id run-002
run clean-release release approve --candidate-id 2026.03.16-rc1 --report-id rpt-002 --actor release-owner
run clean-release candidate list

say "the evidence is plain git"
run git for-each-ref refs/clean-release refs/notes
run git log --oneline refs/clean-release/ledger
run git log -1 --notes=clean-release --format='%h %s%n%N' HEAD

say "every state-changing step is in the audit log; verify proves the ledger only grew"
run clean-release audit log
run clean-release verify
