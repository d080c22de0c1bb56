#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need when missing, runs every test project of the
# solution in Release, and ends with one line, "N passed, N failed" (", N skipped" when some were), counted from
# the TRX results of every test run. Exits non-zero if a test failed, the run broke, or no test ran.
#   TEST_RESULTS_DIR  where the TRX files go (default: artifacts/test-results, emptied first)
# Arguments go to dotnet test, e.g. bash scripts/test.sh --filter "FullyQualifiedName~Epoll".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh

results="${TEST_RESULTS_DIR:-artifacts/test-results}"
rm -rf "$results"
mkdir -p "$results"

# --blame-hang-timeout: every wait in the suite is bounded far below this, so a test still running after it is
# hung for a reason the suite did not foresee; the run is then stopped (and reported) instead of eating CI time.
set +e
dotnet test KestrelEpollTransport.sln -c Release \
    --logger "trx;LogFilePrefix=tests" \
    --results-directory "$results" \
    --blame-hang-timeout 10m --blame-hang-dump-type none \
    "$@"
status=$?
set -e

# Sums one attribute of <Counters .../> over every TRX file.
count() {
    local total=0 file value
    while IFS= read -r -d '' file; do
        value=$(grep -o "<Counters [^>]*" "$file" | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]\+" || true)
        total=$((total + ${value:-0}))
    done < <(find "$results" -name '*.trx' -print0)
    echo "$total"
}

trx_files=$(find "$results" -name '*.trx' | wc -l)
passed=$(count passed)
failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
skipped=$(( $(count total) - $(count executed) ))

if [ "$trx_files" -eq 0 ]; then
    echo "no test results in $results: the build or the test run failed before any test ran (dotnet test exited $status)" >&2
elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "dotnet test exited $status with no failed test recorded: a test host crashed or hung (see above)" >&2
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"

if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
    exit 1
fi
