# The runner keeps each test's output; after a failed run, why.sh prints
# the failed test's "not ok" lines, the diagnostics under them and its
# stderr, and nothing about tests that passed.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-why.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fails.sh" <<'T'
. tests/lib/tap.sh
ok 0 "fine"
is "got this" "wanted that" "a check that fails"
echo "what went wrong, on stderr" >&2
done_testing
T
cat > "$tmp/passes.sh" <<'T'
. tests/lib/tap.sh
ok 0 "fine"
done_testing
T
BUILD=$tmp tests/run "$tmp/fails.sh" > /dev/null 2>&1; st=$?
is "$st" 1 "tests/run passes the failing test's status on"
BUILD=$tmp tests/run "$tmp/passes.sh" > /dev/null 2>&1
out=$(BUILD=$tmp tests/lib/why.sh)
like "$out" "why tests/fails.sh failed" "why.sh names the failed test"
like "$out" "^not ok 2 - a check that fails" "  its failed check"
like "$out" "#   got:  got this" "  the diagnostics under it"
like "$out" "what went wrong, on stderr" "  and its stderr"
is "$(printf '%s\n' "$out" | grep -c passes)" 0 "  and nothing of the test that passed"
done_testing
