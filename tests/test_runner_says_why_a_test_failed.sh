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

# The ipcs check: a segment a test leaves is a failure; one that another
# process, running outside the tests, makes meanwhile is not.
mk=$BUILD/shmq
out=$(tests/lib/check-ipcs.sh sh -c "$mk create key:0x5e9a7e01 --size 4K >/dev/null" 2>&1); st=$?
is "$st" 1 "check-ipcs: a segment the run left behind fails it"
like "$out" "left segment" "  saying so"
$mk rm key:0x5e9a7e01 >/dev/null 2>&1
# A stranger's segment: made by a process that is not the run's, and lives.
(sleep 0.5; exec $mk recv "$(tname stranger)" --timeout 3s >/dev/null 2>&1) &
stranger=$!
out=$(tests/lib/check-ipcs.sh sleep 1.5 2>&1); st=$?
is "$st" 0 "  a segment a stranger made meanwhile (and still uses) does not"
wait $stranger 2>/dev/null
done_testing
