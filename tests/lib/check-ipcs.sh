#!/bin/sh
# Run a command (the test suite) and fail if it left a segment behind:
# `ipcs -m` afterwards must show what it showed before.  On a host that
# others share, their segments come and go meanwhile: a new segment whose
# creator still runs outside this run's processes is theirs, and is only
# mentioned; one whose creator was ours, or is gone, is a leak.  shmq
# makes no semaphore sets or message queues: `ipcs -s` and `ipcs -q` must
# not change at all.
snap_sq() { { ipcs -s; ipcs -q; } 2>/dev/null | awk 'NR && NF && !/^-/ && !/^key/'; }
snap() { ipcs -m 2>/dev/null | awk 'NR > 3 && NF'; }
ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/shm 2>/dev/null | sort -n; }
cpid_of() { awk -v id="$1" 'NR > 1 && $2 == id { print $5 }' /proc/sysvipc/shm; }
# Is process $1 this script or one of its descendants (walking up ppids)?
ours() {
	p=$1
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		[ "$p" = "$$" ] && return 0
		p=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null)
	done
	return 1
}
before=$(snap)
before_ids=$(ids)
before_sq=$(snap_sq)
"$@"
status=$?
after_sq=$(snap_sq)
if [ "$before_sq" = "$after_sq" ]; then
	echo "ipcs -s, ipcs -q: unchanged by the tests"
else
	echo "FAIL: semaphore sets or message queues changed during the tests:" >&2
	echo "--- before" >&2; echo "$before_sq" >&2
	echo "+++ after" >&2; echo "$after_sq" >&2
	[ "$status" -eq 0 ] && status=1
fi
# A process that has just exited may still be tearing down its mappings:
# give the kernel up to 2 s to free what it must before calling it a leak.
for i in 1 2 3 4 5 6 7 8 9 10; do
	after=$(snap)
	[ "$before" = "$after" ] && break
	sleep 0.2
done
if [ "$before" = "$after" ]; then
	echo "ipcs -m: unchanged by the tests ($(echo "$before" | grep -c .) segment(s) before and after)"
	exit $status
fi
leaks= others=
for id in $(ids); do
	printf '%s\n' "$before_ids" | grep -qx "$id" && continue
	c=$(cpid_of "$id")
	if [ -n "$c" ] && [ -d "/proc/$c" ] && ! ours "$c"; then
		others="$others $id"
	else
		leaks="$leaks $id"
	fi
done
if [ -n "$leaks" ]; then
	echo "FAIL: the tests left segment(s) behind:$leaks" >&2
	echo "--- before" >&2; echo "$before" >&2
	echo "+++ after" >&2; echo "$after" >&2
	[ "$status" -eq 0 ] && status=1
else
	echo "ipcs -m: no segment left by the tests (others' processes changed it meanwhile:${others:- segments removed or attached})"
fi
exit $status
