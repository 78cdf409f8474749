#!/usr/bin/env bash
# CI: the real-kernel check. Sets up qemu and Debian's arm64 kernel (cached), then boots the
# kernel DTB of three aarch64 topologies and of one restored snapshot (with a changed host
# command line) on real Linux, each compared with the model. Ends with
# "realkernel: N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
hcl=./bin/hclckpt.mjs
passed=0
failed=0
t_all=$(date +%s%N)

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# check NAME CMD...: runs one check, prints ✓/✘ with its time, and its output on failure.
check() {
  local name=$1 t0 out rc
  shift
  t0=$(date +%s%N)
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    printf '  ✓ %s (%d ms)\n' "$name" "$(ms_since "$t0")"
  else
    failed=$((failed + 1))
    printf '  ✘ %s (%d ms, exit %d)\n' "$name" "$(ms_since "$t0")" "$rc"
  fi
  printf '%s\n' "$out" | sed 's/^/      /'
  return $rc
}

echo "realkernel"
if ! check 'kernel setup' "$hcl" kernel setup; then
  echo "realkernel: $passed passed, $((failed + 4)) failed"
  exit 1
fi

check '1 node / 1 VP' "$hcl" kernel check --config test/realkernel/configs/virt-1node-1vp.json
check '2 nodes / 8 VPs (preset arm64-virt)' "$hcl" kernel check --preset arm64-virt
check '4 nodes / 16 VPs, distance matrix' "$hcl" kernel check --config test/realkernel/configs/virt-4node-16vp.json

store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
# The restore must keep the topology and deliver the new host command line to the real kernel.
check 'save → restore --set cmdline.host → real kernel' sh -c "
  $hcl save --config test/realkernel/configs/virt-4node-16vp.json --store '$store' --name realkernel >/dev/null &&
  $hcl kernel check --snapshot realkernel --store '$store' --set 'cmdline.host=loglevel=5 hclckpt.restored=1'"

echo "  total $(ms_since "$t_all") ms"
echo "realkernel: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
