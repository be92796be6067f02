#!/bin/sh
# Run a command (the test suite) and fail if `ipcs -m` differs afterwards:
# tests must leave no segment behind, however they end.
snap() { ipcs -m 2>/dev/null | awk 'NR > 3 && NF'; }
before=$(snap)
"$@"
status=$?
# A process that has just exited may still be tearing down its mappings:
# give the kernel up to 2 s to free what it must before calling it a leak.
for i in 1 2 3 4 5 6 7 8 9 10; do
	after=$(snap)
	[ "$before" = "$after" ] && break
	sleep 0.2
done
if [ "$before" != "$after" ]; then
	echo "FAIL: the tests changed 'ipcs -m'" >&2
	echo "--- before" >&2; echo "$before" >&2
	echo "+++ after" >&2; echo "$after" >&2
	[ "$status" -eq 0 ] && status=1
else
	echo "ipcs -m: unchanged by the tests ($(echo "$before" | grep -c .) segment(s) before and after)"
fi
exit $status
