# An importer fed by a hostile exporter (a plain ZeroMQ socket,
# tests/helpers/zmq_frames.c): truncated, oversized, mistyped and
# mis-checked frames, random bytes, good frames with one header byte
# changed, replayed sequence numbers, batch frames with a bad record.  Every bad frame is dropped and
# counted, never a crash; a replay is never published twice; the gap is
# reported with its exact size; the topic's subscriber gets exactly the
# good messages with their seqs; nothing is left behind.
. tests/lib/tap.sh
H=$BUILD/helpers/zmq_frames
need_bridge
tmp=$(mktemp -d /tmp/shmq-hostile.XXXXXX)
top=$(tname hostile)
trap 'kill $hp $ip $sp 2>/dev/null; rm -rf "$tmp"' EXIT

# The hostile exporter first: its port.
$H 'tcp://127.0.0.1:*' > "$tmp/h.out" 2> "$tmp/h.err" & hp=$!
i=0
until grep -q '^port ' "$tmp/h.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02
done
port=$(sed -n 's/^port //p' "$tmp/h.out")
ok $([ -n "$port" ]; echo $?) "the hostile exporter is bound (port $port)"

# The importer, and a subscriber that prints each message's seq.
timeout -k 5 60 $SHMQ bridge -v "tcp://127.0.0.1:$port" "$top" 2> "$tmp/imp.err" & ip=$!
i=0
until $SHMQ stat "$top" > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02; done
timeout -k 5 60 $SHMQ sub --seq "$top" > "$tmp/sub" 2> "$tmp/sub.err" & sp=$!
i=0
until $SHMQ stat "$top" 2>/dev/null | grep -q ' alive  *lossless'; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02
done
wait $ip; ist=$?
wait $sp; sst=$?
wait $hp; hst=$?
is "$hst.$ist.$sst" "0.0.0" "the hostile exporter, the importer and the subscriber exit 0 at the end frame"

want=$(for s in $(seq 0 19) $(seq 25 33); do printf '%s\tgood %s\n' $s $s; done)
is "$(cat "$tmp/sub")" "$want" "the subscriber got exactly the 29 good messages (4 of them in batches), each with its seq"
bad=$(sed -n 's/^bad //p' "$tmp/h.out")
like "$(cat "$tmp/imp.err")" "$bad bad frames and 2 repeated seqs dropped" \
	"the importer counted all $bad bad frames and both repeats"
is "$(grep -c 'lost' "$tmp/imp.err")" 1 "  and said one gap"
is "$(cat "$tmp/sub.err")" "shmq: sub: $top: lost 5 messages (seq 20..24)" \
	"the subscriber counts the same 5 as lost, and says so"
like "$(cat "$tmp/imp.err")" "lost 5 messages (seq 20..24)" "  of exactly 5 (seq 20..24)"
is "$(grep -c 'a bad frame dropped' "$tmp/imp.err")" 4 \
	"  and, with -v, said the 1st, 10th, 100th and 1000th as they came"

# A frame larger than any frame can be: refused by ZeroMQ itself, which
# cuts the connection; the importer neither crashes nor publishes it.
$H 'tcp://127.0.0.1:*' huge > "$tmp/h2.out" 2> "$tmp/h2.err" & hp=$!
waitfor grep -q '^port ' "$tmp/h2.out"
port=$(sed -n 's/^port //p' "$tmp/h2.out")
$SHMQ bridge -v "tcp://127.0.0.1:$port" "$top" 2> "$tmp/imp2.err" & ip=$!
waitfor grep -q 'huge sent' "$tmp/h2.out"
sleep 0.5
ok $(kill -0 $ip 2>/dev/null; echo $?) "a 1.2 MB frame: the importer lives on"
like "$(cat "$tmp/imp2.err")" "disconnected from" "  ZeroMQ cut that connection rather than take it in"
is "$($SHMQ stat "$top" 2>/dev/null | sed -n 's/^messages *\([0-9]*\) published.*/\1/p')" 1 \
	"  and only the good message before it was published"
kill $ip; wait $ip; wait $hp
is "$($SHMQ ls 2>/dev/null | grep -c "'$top'")" 0 "the topic is gone after the end"
done_testing
