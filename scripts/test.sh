#!/usr/bin/env bash
# The README's test command (via `make test`): unit and property tests, then every testnet.
# Ends with one summary line, "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
swift build --build-tests || exit 1

log=$(mktemp)
swift test 2>&1 | tee "$log"
unit_status=${PIPESTATUS[0]}
unit_passed=$(grep -Eo 'Test run with [0-9]+ tests?' "$log" | grep -Eo '[0-9]+' | tail -1)
unit_passed=${unit_passed:-0}
unit_failed=0
if [ "$unit_status" -ne 0 ]; then
    unit_failed=$(grep -Eo 'with [0-9]+ issues?' "$log" | grep -Eo '[0-9]+' | tail -1)
    unit_failed=${unit_failed:-1}
    unit_passed=0
fi
rm -f "$log"

net_passed=0
net_failed=0
for net in testnets/*.json; do
    if .build/debug/suifang testnet run "$net"; then
        net_passed=$((net_passed + 1))
    else
        net_failed=$((net_failed + 1))
    fi
done

passed=$((unit_passed + net_passed))
failed=$((unit_failed + net_failed))
echo "tests: $passed passed, $failed failed"
[ "$unit_status" -eq 0 ] && [ "$net_failed" -eq 0 ]
