# A hub server in the CLI never waits on one client.  A client that streams
# into pong --hub and never reads the answers fills its own reply ring:
# pong stops reading it (it is owed an answer) and serves everyone else
# meanwhile.  recv --hub, which never sends, takes every sender's lines
# while one of them streams without end.
. tests/lib/tap.sh
T="timeout -k 5 60"
name=$(tname flood)
tmp=$(mktemp -d /tmp/shmq-flood.XXXXXX)
trap 'rm -rf "$tmp"; kill $flood $pong 2>/dev/null' EXIT

serving() {
	for i in $(seq 1 200); do
		$SHMQ stat "$1" 2>/dev/null | grep -q "^server .*(alive)" && return 0
		sleep 0.05
	done
	return 1
}

$SHMQ pong --hub --capacity 64K -v "$name" > "$tmp/pong" 2>&1 &
pong=$!
serving "$name"; ok $? "pong --hub serves"
# 200000 lines, 64 KiB of answers at most: the flood cannot be answered.
seq 1 200000 | $SHMQ send "$name" 2> "$tmp/flood.err" &
flood=$!
for i in $(seq 1 200); do
	[ -n "$($SHMQ ls | grep "pid $flood")" ] || [ "$(grep -c . "$tmp/pong")" -gt 0 ] && break
	sleep 0.05
done
sleep 0.5
out=$($T $SHMQ ping "$name" -c 1000 -i 0 -q); st=$?
is "$st" 0 "a ping beside a client that floods and never reads: exit 0"
like "$out" "^1000 round trips" "  all 1000 answered"
kill -0 $flood 2>/dev/null; ok $? "  while the flooding client is still held, blocked on its full ring"
out=$(printf 'x\ny\n' | $T $SHMQ send "$name"; echo "status $?")
like "$out" "status 0" "another client's send goes through too"
kill $flood; wait $flood 2>/dev/null
for i in $(seq 1 200); do
	grep -q "abandoned" "$tmp/pong" && break
	sleep 0.05
done
like "$(cat "$tmp/pong")" "client pid [0-9]*: peer abandoned the channel" \
	"the held client's end is noticed too"
kill -INT $pong; wait $pong; st=$?
is "$st" 130 "Ctrl-C ends the server (130)"

# recv --hub: one sender that never stops, others that do.
name=$(tname floodrecv)
$SHMQ recv --hub "$name" > "$tmp/got" 2>/dev/null &
recv=$!
serving "$name"
yes flood | $SHMQ send "$name" 2>/dev/null &
flood=$!
for i in 1 2 3; do
	seq -f "s$i-%g" 1 100 | $T $SHMQ send "$name"
	eval st$i=$?
done
is "$st1$st2$st3" "000" "three senders beside an endless one: each exits 0"
for i in $(seq 1 100); do
	[ "$(grep -c '^s[123]-' "$tmp/got")" -ge 300 ] && break
	sleep 0.05
done
kill $flood; wait $flood 2>/dev/null
kill -INT $recv; wait $recv
is "$(grep -c '^s[123]-' "$tmp/got")" 300 "  and recv --hub wrote all 300 of their lines"
done_testing
