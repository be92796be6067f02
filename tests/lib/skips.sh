#!/bin/sh
# After a run: what was skipped, and why, from the logs tests/run keeps,
# since prove's summary counts skips without saying what they were (a
# missing optional dependency shows here, not as a silent pass).
logs=${BUILD:-build}/test-logs
[ -d "$logs" ] || exit 0
n=0
for out in "$logs"/*.out; do
	[ -e "$out" ] || continue
	base=$(basename "$out" .out)
	sed -n 's/^1\.\.0 # SKIP *\(.*\)/\1/p; s/^ok [0-9]* # SKIP *\(.*\)/\1/p' "$out" |
		sort | uniq -c | while read -r count why; do
			if [ "$count" -gt 1 ]; then
				echo "skipped: tests/$base: $why ($count subtests)"
			else
				echo "skipped: tests/$base: $why"
			fi
		done
done | { while IFS= read -r line; do echo "$line"; n=$((n + 1)); done; [ "$n" -gt 0 ] || echo "skipped: nothing"; }
