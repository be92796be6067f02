# When one side of a pipeline dies or is interrupted, the other side ends
# promptly, with the right status and one clear line, after writing out
# every message it received; and no segment is left behind.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-sig.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# No `timeout` wrapper here: the signals must reach shmq itself.  Every
# wait is bounded by --timeout instead.
S="$SHMQ"
TO="--timeout 20s"

# flowing FILE: wait (up to 20 s) until FILE has data: the pair has formed
# and messages move.  A fixed sleep would assume how fast the machine is.
flowing() {
	for i in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

# SIGKILL the sender mid-stream.
q=$(tname kill)
seq 1 100000000 | $S send $TO "$q" & s=$!
$S recv $TO "$q" > "$tmp/out" 2> "$tmp/err" & r=$!
flowing "$tmp/out"
kill -9 $s
ms=$(wait_gone $r 5000)
wait $r; rs=$?
n=$(wc -l < "$tmp/out" | tr -d ' ')
ok $([ "$ms" -lt 2000 ]; echo $?) "SIGKILL of the sender: the receiver ends within 2 s ($ms ms)"
is "$rs" 1 "  with exit status 1"
like "$(cat "$tmp/err")" "the peer died (after $n messages received)" "  saying the peer died, and after how many"
ok $([ "$n" -gt 0 ]; echo $?) "  it had received $n lines"
is "$(seq 1 "$n" | cmp - "$tmp/out" && echo whole)" whole "  every line it wrote is whole, in order, none missing"

# Ctrl-C (SIGINT) on the sender.
q=$(tname intsend)
seq 1 100000000 | $S send $TO "$q" 2>/dev/null & s=$!
$S recv $TO "$q" > "$tmp/out2" 2> "$tmp/err" & r=$!
flowing "$tmp/out2"
kill -INT $s
ms=$(wait_gone $r 5000)
wait $s; ss=$?
wait $r; rs=$?
is "$ss" 130 "SIGINT to the sender: it exits 130"
ok $([ "$ms" -lt 2000 ]; echo $?) "  the receiver ends within 2 s ($ms ms)"
is "$rs" 1 "  with exit status 1: the stream was cut short, not ended"
like "$(cat "$tmp/err")" "gave up" "  saying the peer gave up"

# Ctrl-C on the receiver.
q=$(tname intrecv)
seq 1 100000000 | $S send $TO "$q" 2> "$tmp/err" & s=$!
$S recv $TO "$q" > "$tmp/out3" & r=$!
flowing "$tmp/out3"
kill -INT $r
ms=$(wait_gone $s 5000)
wait $r; rs=$?
wait $s; ss=$?
is "$rs" 130 "SIGINT to the receiver: it exits 130"
ok $([ "$ms" -lt 2000 ]; echo $?) "  the sender ends within 2 s ($ms ms)"
is "$ss" 1 "  with exit status 1"
like "$(cat "$tmp/err")" "gave up" "  saying the peer gave up"

# SIGPIPE: the receiver's reader goes away.
q=$(tname pipe)
seq 1 100000000 | $S send $TO "$q" 2> "$tmp/err" & s=$!
first=$( ( $S recv $TO "$q"; echo $? > "$tmp/rstatus" ) | head -1)
ms=$(wait_gone $s 5000)
wait $s; ss=$?
is "$first" 1 "recv | head -1 prints the first message"
is "$(cat "$tmp/rstatus")" 141 "  recv then exits quietly, as after SIGPIPE (141)"
ok $([ "$ms" -lt 2000 ]; echo $?) "  the sender ends within 2 s ($ms ms)"
is "$ss" 1 "  with exit status 1"

# Ctrl-C while waiting for a peer that never comes.
q=$(tname wait)
$S recv $TO "$q" > /dev/null & r=$!
for i in $(seq 1 400); do $SHMQ stat "$q" >/dev/null 2>&1 && break; sleep 0.05; done
$SHMQ stat "$q" >/dev/null 2>&1
is "$?" 0 "a receiver waiting for its peer has created the channel"
kill -INT $r
wait $r; rs=$?
is "$rs" 130 "  SIGINT: it exits 130"
$SHMQ stat "$q" >/dev/null 2>&1
is "$?" 1 "  and removes the channel it created"
q=$(tname term)
$S send $TO "$q" hello & s=$!
for i in $(seq 1 400); do $SHMQ stat "$q" >/dev/null 2>&1 && break; sleep 0.05; done
kill -TERM $s
wait $s; ss=$?
is "$ss" 143 "SIGTERM to a waiting sender: exit 143"
$SHMQ stat "$q" >/dev/null 2>&1
is "$?" 1 "  and no segment is left"
done_testing
