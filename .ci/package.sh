#!/usr/bin/env bash
# CI: the npm package as a user gets it. Builds, packs the tarball, installs it into an empty
# directory with production dependencies only, runs `npx hclckpt demo` there, then the CLI
# conformance suite against that installed binary (so a file missing from `files` fails CI).
# Ends with "package: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package: $1"; echo "package: 0 passed, 1 failed"; exit 1; }

npm run build >/dev/null || fail "build failed"
tarball=$(npm pack --silent --pack-destination "$work" | tail -1) || fail "npm pack failed"
mkdir "$work/app" && cd "$work/app" || fail "no temp dir"
echo '{"name":"hclckpt-install-check","private":true}' > package.json
npm install --omit=dev --no-audit --no-fund "$work/$tarball" >/dev/null || fail "installing $tarball failed"
[ ! -e node_modules/tsx ] || fail "tsx was installed: it must stay a dev dependency"
npx --no-install hclckpt demo --store "$work/demo-store" || fail "npx hclckpt demo failed in the installed package"
# Worker threads load the built chunks of the installed package, not TypeScript sources.
npx --no-install hclckpt prop --only topology-discovered --runs 2 --workers 2 --store "$work/prop-store" || fail "prop --workers failed in the installed package"

log=$(mktemp)
(cd "$root" && node --import tsx test/conformance/installed.ts "$work/app") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
read -r total passed < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/^ *Total:/ {t+=$2} /^ *Passed:/ {p+=$2} END {print t+0, p+0}')
rm -f "$log"
failed=$((total - passed))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "package: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
