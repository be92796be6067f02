#!/bin/sh
# After a failed run: for every test that failed, what failed and why,
# from the logs tests/run keeps: its "not ok" lines with the diagnostics
# under them, how it ended, and the end of what it wrote to stderr.
logs=${BUILD:-build}/test-logs
[ -d "$logs" ] || exit 0
for st in "$logs"/*.status; do
	[ -e "$st" ] || continue
	base=$(basename "$st" .status)
	out="$logs/$base.out"
	status=$(cat "$st")
	if [ "$status" = 0 ] && ! grep -q '^not ok' "$out" && grep -q '^1\.\.' "$out"; then
		continue
	fi
	echo "=== why tests/$base failed (exit status $status):"
	awk '/^not ok/ { show = 1; print; next } /^#/ && show { print; next } { show = 0 }' "$out"
	if ! grep -q '^1\.\.' "$out"; then
		echo "(it stopped before printing its plan; its last lines:)"
		tail -5 "$out"
	fi
	if [ -s "$logs/$base.err" ]; then
		echo "--- its stderr, last lines:"
		tail -15 "$logs/$base.err"
	fi
done
