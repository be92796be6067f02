# shmq pub and shmq sub: every subscriber gets every line, in order; a
# lossy one reports exactly what it lost; --from and --seq work; the ends
# and refusals say why in one line, with recv's exit statuses.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-pubsub.XXXXXX)
# A dead publisher's topic stays for `shmq clean` (or the next opener):
# remove whatever each case left, however the test ends.
trap 'rm -rf "$tmp"; for n in fan psp lossy raw ends evict; do $SHMQ rm "$(tname $n)"; done > /dev/null 2>&1' EXIT
S=$SHMQ
TO="--timeout 20s"
T="timeout -k 5 60"

# Three lossless subscribers, one publisher that waits for them.
q=$(tname fan)
for i in 1 2 3; do $T $S sub $TO "$q" > "$tmp/s$i" 2> "$tmp/e$i" & eval "p$i=\$!"; done
seq 1 50000 | $T $S pub $TO --subscribers 3 "$q"; st=$?
is "$st" 0 "pub: 50000 lines to 3 subscribers, exit 0"
for i in 1 2 3; do
	eval "wait \$p$i"; rs=$?
	is "$rs:$(seq 1 50000 | cmp - "$tmp/s$i" 2>&1 && echo same)" "0:same" "  subscriber $i: every line, in order, then exit 0"
done

# Persistent: --from oldest and --seq.
q=$(tname psp)
seq 10 | $T $S pub --persistent "$q"
out=$($T $S sub --persistent $TO --from oldest --seq -n 3 "$q" | tr '\t\n' ':,')
is "$out" "0:1,1:2,2:3," "a persistent topic keeps its messages: --from oldest --seq -n 3"
out=$($T $S sub --persistent $TO --from 7 -n 3 "$q" | tr '\n' ',')
is "$out" "8,9,10," "  --from 7 starts at seq 7"
err=$($T $S sub --persistent $TO --from 99 -n 1 "$q" 2>&1); st=$?
like "$st $err" "^1 .*seq 99 is not in the topic: the oldest it holds is 0, the next to come 10" \
	"  a seq it does not hold is refused in one line, naming what it holds"
out=$($S stat "$q")
like "$out" "^ *0  pid [0-9]* *closed *lossless next 10 *lag 0 *lost 0" \
	"  stat lists each subscriber: slot, pid, state, policy, next seq, lag, lost"
seq 11 12 | $T $S pub --persistent "$q"
out=$($T $S sub --persistent $TO --from 9 --seq -n 3 "$q" | tr '\t\n' ':,')
is "$out" "9:10,10:11,11:12," "  a second publisher goes on with the sequence numbers"
$S rm "$q" > /dev/null

# A lossy subscriber: each loss on stderr; received + lost = the range.
q=$(tname lossy)
$T $S sub --lossy --seq $TO "$q" > "$tmp/l" 2> "$tmp/le" & p=$!
seq 1 200000 | $T $S pub --slots 64 --slot-size 64 --subscribers 1 "$q"
wait $p; st=$?
got=$(wc -l < "$tmp/l" | tr -d ' ')
lost=$(sed -n 's/.*lost \([0-9]*\) message.*/\1/p' "$tmp/le" | awk '{ s += $1 } END { print s + 0 }')
first=$(head -1 "$tmp/l" | cut -f1)
last=$(tail -1 "$tmp/l" | cut -f1)
is "$st" 0 "a lossy subscriber ends with the stream, exit 0"
# It joined before the first message (--subscribers 1): its range starts at 0.
is "$((got + lost))" "$((last + 1))" "  what it received ($got, from seq $first) and lost ($lost) is every seq from 0 to $last"
ok $(grep -qv "lost [0-9]* messages\{0,1\} (seq [0-9]*\.\.[0-9]*)$" "$tmp/le"; [ $? -ne 0 ]; echo $?) \
	"  and every line on stderr says \"lost N messages (seq A..B)\""
bad=$(awk -F'\t' 'NR > 1 && $1 <= prev { n++ } { prev = $1 } END { print n + 0 }' "$tmp/l")
is "$bad" 0 "  its sequence numbers only go up"

# --raw into a topic a subscriber made with small slots: pub's chunks
# follow the topic's slot size, not its own options.
q=$(tname raw)
head -c 5000 /dev/urandom > "$tmp/rawin"
$T $S sub --raw --slot-size 64 --slots 64 $TO "$q" > "$tmp/rawout" & p=$!
for i in $(seq 1 400); do $S stat "$q" > /dev/null 2>&1 && break; sleep 0.05; done
$T $S pub --raw --subscribers 1 $TO "$q" < "$tmp/rawin"; st=$?
wait $p; rs=$?
is "$st$rs:$(cmp "$tmp/rawin" "$tmp/rawout" && echo same)" "00:same" \
	"pub --raw into a topic of 64-byte slots: the same bytes come out"

# The ends: kill -9 of the publisher; a second live publisher.
q=$(tname ends)
$T $S sub $TO "$q" > "$tmp/k" 2> "$tmp/ke" & p=$!
seq 1 100000000 | $S pub --subscribers 1 $TO "$q" 2> /dev/null & pp=$!
for i in $(seq 1 400); do [ -s "$tmp/k" ] && break; sleep 0.05; done
err=$($T $S pub $TO "$q" x 2>&1); st=$?
like "$st $err" "^1 shmq: pub: .*a live publisher (pid [0-9]*) already publishes" \
	"a second live publisher is refused in one line"
kill -9 $pp
wait $p; st=$?
n=$(wc -l < "$tmp/k" | tr -d ' ')
like "$st $(cat "$tmp/ke")" "^1 .*died (after $n messages received)" \
	"kill -9 of the publisher: the subscriber says so after its $n lines, exit 1"
is "$(seq 1 "$n" | cmp - "$tmp/k" && echo whole)" whole "  every line it wrote is whole, in order"
like "$($S clean --dry-run)" "would remove.*topic '$q'.*stale" "  the dead publisher's topic is stale for clean"

# Eviction: a stopped lossless subscriber, a publisher that will not wait.
q=$(tname evict)
# Not under timeout(1): the signals must reach shmq itself; --timeout bounds it.
$S sub $TO "$q" > /dev/null 2> "$tmp/ve" & p=$!
for i in $(seq 1 400); do $S stat "$q" > /dev/null 2>&1 && break; sleep 0.05; done
sleep 0.2
kill -STOP $p
seq 1 1000 | $T $S pub --slots 32 --slot-size 64 --slow-subscriber 300ms "$q"; st=$?
kill -CONT $p
wait $p; rs=$?
is "$st" 0 "pub --slow-subscriber 300ms goes on past a stopped subscriber"
like "$rs $(cat "$tmp/ve")" "^1 .*evicted: too slow for the publisher" "  which is told it was evicted, exit 1"

# Usage errors, one line each.
err=$($S pub --capacity 1M x 2>&1); st=$?
like "$st $err" "^2 .*--capacity is for channels" "pub --capacity: a usage error naming the right options"
err=$($S sub --from sideways x 2>&1); st=$?
like "$st $err" "^2 .*invalid --from 'sideways'" "sub --from sideways: a usage error"
done_testing
