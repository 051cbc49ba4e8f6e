#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets with the fuzzer and address sanitizers into .build-fuzz (debug, so
# that asserts hold too) and runs each for FUZZ_SECONDS (default 60) on a working corpus
# seeded from Fuzz/Corpus/TARGET. An input that breaks a
# check is copied into Fuzz/Corpus/TARGET as finding-HASH (commit it: the corpus tests replay it on every
# make test) and the run fails. FUZZ_TARGETS picks targets (default: all four).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-FuzzFrames FuzzTokens FuzzCSV FuzzRequests}"
scratch=.build-fuzz
# The Swift driver keeps only the last -sanitize= it is given, and swift build passes --sanitize's values as
# separate flags in no fixed order: some builds had coverage without the address sanitizer, others the
# sanitizer without coverage (libFuzzer runs those without complaint, learning almost nothing). The combined
# flag, given last, keeps both; the objects are checked for both before anything runs.
for target in $targets; do
    swift build -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
        --scratch-path "$scratch" --product "$target"
done
for object in "$scratch"/*/debug/PortalLinksWire.build/*.swift.o; do
    # (grep -c reads to the end: with pipefail, grep -q closing the pipe early would fail the check)
    if ! readelf -S "$object" | grep -c sancov_cntrs >/dev/null || ! nm -u "$object" | grep -c __asan_ >/dev/null; then
        echo "fuzz: $object lacks coverage or address-sanitizer instrumentation; remove $scratch and run again" >&2
        exit 1
    fi
done

corpus_of() { case "$1" in FuzzFrames) echo frames;; FuzzTokens) echo tokens;; FuzzCSV) echo csv;; FuzzRequests) echo requests;; esac; }
summary=()
failed=0
for target in $targets; do
    name=$(corpus_of "$target")
    work="$scratch/corpus/$name" findings="$scratch/findings/$name"
    rm -rf "$findings"  # only this run's findings are copied into the corpus
    mkdir -p "$work" "$findings"
    log="$scratch/$target.log"
    echo "== $target: ${seconds}s (log: $log)"
    # The request target answers over loopback and hashes passwords: each input gets time. Its server lives
    # for the whole run, on threads of its own, which leak detection (per input, and at exit, where the
    # server is still running) cannot tell from a leak.
    leaks=1
    [ "$target" = FuzzRequests ] && leaks=0
    set +e
    ASAN_OPTIONS="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$scratch/debug/$target" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -detect_leaks=$leaks \
        -print_final_stats=1 -artifact_prefix="$findings/" "$work" "Fuzz/Corpus/$name" >"$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
    if [ "$status" -eq 0 ]; then
        summary+=("$target: ${seconds}s, $runs inputs, coverage $coverage edges, no finding")
    else
        failed=1
        for artifact in "$findings"/*; do
            [ -e "$artifact" ] || continue
            copy="Fuzz/Corpus/$name/finding-$(sha1sum "$artifact" | cut -c1-12)"
            cp "$artifact" "$copy"
            summary+=("$target: FINDING after $runs inputs, kept as $copy")
        done
        grep -m3 -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" | sed 's/^/    /' || true
    fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
