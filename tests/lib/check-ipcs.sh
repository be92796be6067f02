#!/bin/sh
# Run a command (the test suite) and fail if `ipcs -m` differs afterwards:
# tests must leave no segment behind, however they end.
snap() { ipcs -m 2>/dev/null | awk 'NR > 3 && NF'; }
before=$(snap)
"$@"
status=$?
after=$(snap)
if [ "$before" != "$after" ]; then
	echo "FAIL: the tests changed 'ipcs -m'" >&2
	echo "--- before" >&2; echo "$before" >&2
	echo "+++ after" >&2; echo "$after" >&2
	[ "$status" -eq 0 ] && status=1
else
	echo "ipcs -m: unchanged by the tests ($(echo "$before" | grep -c .) segment(s) before and after)"
fi
exit $status
