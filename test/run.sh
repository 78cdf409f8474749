#!/usr/bin/env bash
# `npm test`: runs every uvu suite (unit tests under test/, property suites under properties/;
# `bash test/run.sh DIR...` only those) and the layer lint (`npm run lint:layers`, counted as one
# test), and ends with one plain line "N passed, N failed" computed from uvu's own summaries. It
# exits non-zero when any test fails, including the case where uvu's reporter itself crashes on an
# error and under-reports (Passed < Total), which uvu alone would let through with exit 0.
# test/fixed-seed.ts gives every fast-check run one fixed seed (HCLCKPT_PROP_SEED to change).
set -uo pipefail
cd "$(dirname "$0")/.."
# Hermetic: the user's environment must not change a verdict. Tests that need one of these set
# it themselves; stdin is never a terminal. The CLI tests spawn bin/hclckpt.mjs, so build first.
unset NO_COLOR FORCE_COLOR HCLCKPT_STORE HCLCKPT_FAULT HCLCKPT_DEBUG HCLCKPT_MAX_INPUT HCLCKPT_TEST_SEAM HCLCKPT_PROP_MAXVPS HCLCKPT_PROP_RUNS
exec </dev/null
node harness/build.mjs || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
log=$(mktemp)
rc=0
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(test properties)
for dir in "${dirs[@]}"; do
  node --import tsx --import ./test/fixed-seed.ts node_modules/uvu/bin.js "$dir" '\.test\.ts$' 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
read -r total passed skipped < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^ *Total:/ {t+=$2} /^ *Passed:/ {p+=$2} /^ *Skipped:/ {s+=$2}
  END {print t+0, p+0, s+0}')
rm -f "$log"
# The layer lint (imports and env reads, DESIGN.md §2) counts as one test.
total=$((total + 1))
if bash .ci/lint-layers.sh; then passed=$((passed + 1)); else rc=1; fi
failed=$((total - passed - skipped))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
