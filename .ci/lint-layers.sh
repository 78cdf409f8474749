#!/usr/bin/env bash
# `npm run lint:layers`: the layer rules of DESIGN.md §2. dependency-cruiser checks the imports
# (.dependency-cruiser.cjs); it cannot see environment reads, so a grep checks that lib/ reads
# process.env only in lib/faults.ts. Exits non-zero on any violation.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
node_modules/.bin/depcruise --config .dependency-cruiser.cjs --output-type err lib harness properties cli.ts || rc=1

# Plain grep, not git grep: the check must also hold in a tree that is not a git checkout.
readers=$(grep -rl --include='*.ts' 'process\.env' lib)
[ $? -le 1 ] || { echo "lint:layers: grep failed"; rc=1; }
for f in $readers; do
  [ "$f" = lib/faults.ts ] && continue
  grep -n 'process\.env' "$f" | sed "s|^|$f:|"
  echo "lint:layers: $f reads process.env; only lib/faults.ts may (route it there or inject it)"
  rc=1
done
[ "$rc" -eq 0 ] && echo "lint:layers: ok"
exit "$rc"
