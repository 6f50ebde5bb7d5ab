#!/usr/bin/env bash
# systemd/tallyd.service: `systemd-analyze verify` finds nothing, and its exposure (systemd-analyze security
# --offline=true) is 2.0 or lower and no worse than the figure recorded in docs/packaging.md.
#   test_unit.sh SOURCE_DIR TALLYD_PATH
set -euo pipefail
src=$1 tallyd=$2
unit=$src/systemd/tallyd.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify checks that ExecStart= programs exist: point them at the tallyd just built.
sed "s|/usr/bin/tallyd|$tallyd|g" "$unit" >"$tmp/tallyd.service"
if ! out=$(systemd-analyze verify --man=no "$tmp/tallyd.service" 2>&1) || [ -n "$out" ]; then
  echo "systemd-analyze verify complained:"; echo "$out"; exit 1
fi
echo "verify: clean"

exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for tallyd.service: \([0-9.]*\).*/\1/p')
recorded=$(sed -n 's/^Exposure: \([0-9.]*\).*/\1/p' "$src/docs/packaging.md" | head -1)
echo "exposure: $exposure (recorded in docs/packaging.md: $recorded; limit 2.0)"
[ -n "$exposure" ] && [ -n "$recorded" ] || { echo "could not read the exposure or the recorded figure"; exit 1; }
awk -v e="$exposure" -v r="$recorded" 'BEGIN { exit !(e <= 2.0 && e <= r) }' || {
  echo "the unit's exposure rose above 2.0 or above the recorded figure:"
  systemd-analyze security --offline=true "$unit" | grep -v '✓'
  exit 1
}

# The settings the service depends on are still there.
for setting in Type=notify WatchdogSec= Restart=on-failure RestartPreventExitStatus=78 User=tally UMask=0027 \
               StateDirectory=tally DevicePolicy=closed ProtectSystem=strict CapabilityBoundingSet= ; do
  grep -q "^$setting" "$unit" || { echo "missing: $setting"; exit 1; }
done
echo "ok"
