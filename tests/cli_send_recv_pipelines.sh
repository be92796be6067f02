# send and recv in shell pipelines: a million lines, NUL-delimited records,
# a raw binary stream checked by sha256, arguments, -n, both start orders,
# and a timeout with no peer.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-pipes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
T="timeout -k 5 60"

# A million lines, receiver first.
q=$(tname lines)
$T $SHMQ recv "$q" > "$tmp/lines" & r=$!
sleep 0.2
seq 1 1000000 | $T $SHMQ send "$q"; s=$?
wait $r; rs=$?
is "$s" 0 "seq 1 1000000 | shmq send: exit 0"
is "$rs" 0 "shmq recv (started first): exit 0 at the end of the stream"
is "$(wc -l < "$tmp/lines" | tr -d ' ')" 1000000 "  1000000 lines arrive"
is "$(seq 1 1000000 | cmp - "$tmp/lines" && echo same)" same "  all of them, in order"

# The same with the sender first.
q=$(tname lines)
seq 1 1000000 | $T $SHMQ send "$q" & s=$!
sleep 0.2
n=$($T $SHMQ recv "$q" | wc -l | tr -d ' ')
wait $s
is "$n" 1000000 "sender started first: shmq recv | wc -l gives 1000000"

# NUL-delimited records, with newlines inside them.
q=$(tname nul)
printf 'one\0two\nlines\0\0three' > "$tmp/nul.in"
$T $SHMQ send -0 "$q" < "$tmp/nul.in" &
$T $SHMQ recv -0 "$q" > "$tmp/nul.out"
wait
is "$(od -c "$tmp/nul.out")" "$(printf 'one\0two\nlines\0\0three\0' | od -c)" \
	"-0: records with newlines and an empty one survive"

# A raw binary stream of 24 MiB, both start orders.
head -c 25165824 /dev/urandom > "$tmp/big.bin"
want=$(sha256sum < "$tmp/big.bin" | cut -d' ' -f1)
q=$(tname raw)
$T $SHMQ send --raw "$q" < "$tmp/big.bin" &
$T $SHMQ recv --raw "$q" > "$tmp/big.out"; rs=$?
wait
is "$rs" 0 "recv --raw: exit 0"
is "$(sha256sum < "$tmp/big.out" | cut -d' ' -f1)" "$want" "--raw, sender first: identical sha256 for 24 MiB"
q=$(tname raw)
$T $SHMQ recv --raw "$q" > "$tmp/big.out2" & r=$!
sleep 0.2
$T $SHMQ send --raw "$q" < "$tmp/big.bin"
wait $r
is "$(sha256sum < "$tmp/big.out2" | cut -d' ' -f1)" "$want" "--raw, receiver first: identical sha256"
q=$(tname raw)
printf '' | $T $SHMQ send --raw "$q" &
out=$($T $SHMQ recv --raw "$q" | wc -c | tr -d ' ')
wait
is "$out" 0 "--raw of an empty stream: zero bytes, clean end"

# Arguments as messages; a last line without a newline.
q=$(tname args)
$T $SHMQ send "$q" alpha "two words" "" omega &
out=$($T $SHMQ recv "$q")
wait
is "$out" "$(printf 'alpha\ntwo words\n\nomega')" "arguments are messages, an empty one included"
q=$(tname tail)
printf 'a\nb' | $T $SHMQ send "$q" &
out=$($T $SHMQ recv "$q" | od -c)
wait
is "$out" "$(printf 'a\nb\n' | od -c)" "a last line without a newline is still a message"

# -n: stop after COUNT; the sender learns the receiver closed.
q=$(tname count)
seq 1 100000 | $T $SHMQ send "$q" 2> "$tmp/send.err" & s=$!
out=$($T $SHMQ recv -n 3 "$q")
wait $s; ss=$?
is "$out" "$(printf '1\n2\n3')" "recv -n 3 prints 3 messages and stops"
is "$ss" 1 "  the sender, with more to send, exits 1"
like "$(cat "$tmp/send.err")" "peer closed the channel" "  saying the peer closed"

# No peer within the timeout.
q=$(tname lonely)
out=$($T $SHMQ recv --timeout 200ms "$q" 2>&1); st=$?
is "$st" 1 "recv --timeout 200ms with no sender: exit 1"
like "$out" "no peer arrived within 0.2 s" "  says no peer arrived"
$SHMQ stat "$q" >/dev/null 2>&1
is "$?" 1 "  and leaves no segment"

# Two senders, then two receivers: the senders do not pair with each other
# (each would send into nothing); each receiver gets one sender's lines.
q=$(tname twosenders)
$T $SHMQ send "$q" a1 a2 &
$T $SHMQ send "$q" b1 b2 &
sleep 0.3
r1=$($T $SHMQ recv "$q"); r2=$($T $SHMQ recv "$q")
wait
is "$(printf '%s\n%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" "a1 a2 b1 b2 " \
	"two sends, then two recvs: every line arrives"
ok $([ "$r1" = "a1
a2" ] || [ "$r1" = "b1
b2" ]; echo $?) "  each receiver gets one sender's lines"

# A sender in line behind another whose deadline comes first says so.
q=$(tname inline)
$T $SHMQ send "$q" --timeout 1500ms first >/dev/null 2>&1 &
sleep 0.3
out=$($T $SHMQ send "$q" --timeout 300ms second 2>&1); st=$?
wait
is "$st" 1 "a sender in line until its deadline: exit 1"
like "$out" "another sender held the address" "  saying why: $out"

# A message longer than the channel takes.
q=$(tname toolong)
head -c 5000 /dev/zero | tr '\0' x > "$tmp/long"
$T $SHMQ recv "$q" --capacity 4K > /dev/null 2>&1 &
out=$($T $SHMQ send "$q" --capacity 4K < "$tmp/long" 2>&1); st=$?
wait
is "$st" 1 "a line longer than the largest message: exit 1"
like "$out" "longer than the largest" "  explained"
done_testing
