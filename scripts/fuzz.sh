#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of what a node reads from peers before trusting them.
#
#   scripts/fuzz.sh TARGET [libFuzzer flags…]      TARGET: frames | batch | commit | merge | hl7 | csv | all
#
# Examples:
#   FUZZ_CONFIG=debug scripts/fuzz.sh all -runs=3000   the bounded run `make test` does (scripts/test.sh)
#   scripts/fuzz.sh all                                20,000 inputs each (the default without flags)
#   scripts/fuzz.sh commit -runs=10000000 -jobs=1      a long run (docs/THREAT-MODEL.md records them)
#
# Builds `suifang-fuzz` with -sanitize=fuzzer,address in .build-fuzz (its own build folder) and seeds
# each target's corpus from Tests/Fuzz/seeds/TARGET (merge uses the commit seeds). If a folder
# Tests/Fuzz/regressions/TARGET holds inputs, they are replayed before fuzzing; none is in the
# repository yet. A crash leaves its input in .build-fuzz/crashes and fails the script: keep it as a
# regression by copying it into Tests/Fuzz/regressions/TARGET (create the folder) with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh frames|batch|commit|merge|hl7|csv|all [libFuzzer flags]}
shift
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-runs=20000)

# FUZZ_CONFIG=debug builds faster (what `make test` uses); release runs faster (long runs).
config=${FUZZ_CONFIG:-release}
swift build -c "$config" --build-path .build-fuzz --product suifang-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2
binary=.build-fuzz/$config/suifang-fuzz

targets=("$target")
[ "$target" = all ] && targets=(frames batch commit merge hl7 csv)
mkdir -p .build-fuzz/crashes
for name in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$name
    mkdir -p "$corpus"
    seeds=Tests/Fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=Tests/Fuzz/seeds/commit   # merge takes the commit seeds
    cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
    if compgen -G "Tests/Fuzz/regressions/$name/*" > /dev/null; then
        ASAN_OPTIONS=detect_leaks=0 SUIFANG_FUZZ_TARGET=$name "$binary" -runs=0 -detect_leaks=0 Tests/Fuzz/regressions/"$name"/* >&2
    fi
    echo "fuzzing $name: ${flags[*]}" >&2
    # -detect_leaks=0: LeakSanitizer does not follow Swift references kept with spare bits set and
    # reports allocations that are still reachable; -rss_limit_mb still catches real exhaustion.
    # malloc_context_size=0: no stack is recorded per allocation (1.6x faster on hl7); a crash still
    # prints its own stack, only "allocated at" is left out.
    # -max_len: 64 KiB unless the caller gives one (smaller runs faster on the frame decoder).
    max_len=-max_len=65536
    for flag in "${flags[@]}"; do [[ $flag == -max_len=* ]] && max_len=$flag; done
    ASAN_OPTIONS=detect_leaks=0:malloc_context_size=0 SUIFANG_FUZZ_TARGET=$name "$binary" "${flags[@]}" "$max_len" -rss_limit_mb=2048 -detect_leaks=0 \
        -artifact_prefix=.build-fuzz/crashes/"$name-$$"- -print_final_stats=1 "$corpus" 2>&1 \
        | grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss|==[0-9]+==ERROR|SUMMARY)" >&2 \
        || true
    # This run's inputs only (the process id in the prefix): another run's files are not this one's.
    if compgen -G ".build-fuzz/crashes/$name-$$-*" > /dev/null; then
        echo "fuzzing $name: FOUND A CRASH (inputs in .build-fuzz/crashes)" >&2
        exit 1
    fi
    echo "fuzzing $name: ok" >&2
done
