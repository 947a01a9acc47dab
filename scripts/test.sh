#!/usr/bin/env bash
# The README's test command (via `make test`), in this order:
#   1. scripts/install-deps.sh test (missing system packages, browser-test packages included);
#   2. swift format lint --strict over Sources and Tests (fails at once; `make format` fixes it);
#   3. swift build --build-tests, then swift test (unit and property tests);
#   4. every fuzz target for 3,000 inputs, debug build (FUZZ_CONFIG=debug scripts/fuzz.sh all -runs=3000);
#   5. every testnet in testnets/*.json (suifang testnet run);
#   6. the demo network as `make demo` starts it, its 10,000-patient hospital (nodes up, synced);
#   7. the HIS feed against python-hl7 over MLLP (Tests/HL7/mllp_test.py: every ADT event, encodings, a flood);
#   8. FHIR R4 resources checked by the fhir.resources R4 models (Tests/FHIR/fhir_test.py; PyPI, cached venv);
#   9. SMS through a real Kannel with its fake SMS centre (Tests/SMS/kannel_test.py);
#      the group archive: two centrals into a real PostgreSQL (Tests/Archive/archive_test.py);
#  10. docs/openapi.yaml checked against a live node by schemathesis, every phase and check, as a machine
#      credential and as an administrator (Tests/OpenAPI/conformance_test.py; PyPI, cached venv);
#  11. the browser tests (Tests/Browser/ui_test.py, headless Chromium; SCREENSHOTS=DIR keeps the shots).
# Ends with one summary line, "tests: N passed, M failed"; exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test || exit 1
# The code is kept as .swift-format says (`make format` applies it).
swift format lint --strict -r Sources Tests || { echo "tests: 0 passed, 1 failed (swift format lint: run make format)"; exit 1; }
swift build --build-tests || exit 1

log=$(mktemp)
swift test 2>&1 | tee "$log"
unit_status=${PIPESTATUS[0]}
unit_passed=$(grep -Eo 'Test run with [0-9]+ tests?' "$log" | grep -Eo '[0-9]+' | tail -1)
unit_passed=${unit_passed:-0}
unit_failed=0
unit_failures=""
if [ "$unit_status" -ne 0 ]; then
    unit_failed=$(grep -Eo 'with [0-9]+ issues?' "$log" | grep -Eo '[0-9]+' | tail -1)
    unit_failed=${unit_failed:-1}
    unit_passed=0
    # The failures again at the end, so that the tail of a CI log names them.
    # Each failed test's line first (one test's many issues must not hide the others), then details.
    unit_failures=$( (grep -E '✘ Test .* failed|Fatal error|unexpected signal' "$log"; grep -E '✘ Test .* recorded an issue|error: ' "$log") | grep -v 'Test run with' | head -40)
fi
rm -f "$log"

net_passed=0
net_failed=0

# Coverage-guided fuzzing, bounded: every target for 3,000 inputs (docs/THREAT-MODEL.md has the long runs).
if FUZZ_CONFIG=debug scripts/fuzz.sh all -runs=3000; then
    echo "fuzzing: ok"
    net_passed=$((net_passed + 1))
else
    echo "fuzzing: FAILED"
    net_failed=$((net_failed + 1))
fi
for net in testnets/*.json; do
    if .build/debug/suifang testnet run "$net"; then
        net_passed=$((net_passed + 1))
    else
        net_failed=$((net_failed + 1))
    fi
done

# The demo network as `make demo` starts it, with its default hospital: nodes up and synced. A
# 300-patient hospital here missed that the default one's 10,000-line import passed the commit bound.
demo_dir=$(mktemp -d)
if .build/debug/suifang demo --seconds 1 --http-port 18480 --directory "$demo_dir/net" > "$demo_dir/out.txt" 2>&1 \
   && grep -q "demo network is up" "$demo_dir/out.txt"; then
    echo "demo network: ok"
    net_passed=$((net_passed + 1))
else
    echo "demo network: FAILED"; cat "$demo_dir/out.txt"
    net_failed=$((net_failed + 1))
fi
rm -rf "$demo_dir"

# The HIS feed: messages built by an independent HL7 library, over a real MLLP connection.
if /usr/bin/python3 Tests/HL7/mllp_test.py --binary .build/debug/suifang; then
    net_passed=$((net_passed + 1))
else
    echo "HL7 over MLLP: FAILED"
    net_failed=$((net_failed + 1))
fi

# FHIR R4 read access, validated by an independent implementation of the R4 models.
if /usr/bin/python3 Tests/FHIR/fhir_test.py --binary .build/debug/suifang; then
    net_passed=$((net_passed + 1))
else
    echo "FHIR R4: FAILED"
    net_failed=$((net_failed + 1))
fi

# The SMS centre: central sends through Kannel's smsbox; reports and replies come back.
if /usr/bin/python3 Tests/SMS/kannel_test.py --binary .build/debug/suifang; then
    net_passed=$((net_passed + 1))
else
    echo "SMS through Kannel: FAILED"
    net_failed=$((net_failed + 1))
fi

# The hospital group's archive: two centrals into a real PostgreSQL, restarted mid-stream; views checked.
if /usr/bin/python3 Tests/Archive/archive_test.py --binary .build/debug/suifang; then
    net_passed=$((net_passed + 1))
else
    echo "archive to PostgreSQL: FAILED"
    net_failed=$((net_failed + 1))
fi

# The API as a contract: schemathesis against a live node holding the demo hospital.
if /usr/bin/python3 Tests/OpenAPI/conformance_test.py --binary .build/debug/suifang; then
    net_passed=$((net_passed + 1))
else
    echo "OpenAPI conformance: FAILED"
    net_failed=$((net_failed + 1))
fi

# The browser tests: every role's pages in headless Chromium, offline capture, claims, screen pop, merge.
if /usr/bin/python3 Tests/Browser/ui_test.py --binary .build/debug/suifang --screenshots "${SCREENSHOTS:-$(mktemp -d)}"; then
    net_passed=$((net_passed + 7))
else
    echo "browser tests: FAILED"
    net_failed=$((net_failed + 1))
fi

passed=$((unit_passed + net_passed))
[ -z "$unit_failures" ] || printf 'unit test failures:\n%s\n' "$unit_failures"
failed=$((unit_failed + net_failed))
echo "tests: $passed passed, $failed failed"
[ "$unit_status" -eq 0 ] && [ "$net_failed" -eq 0 ]
