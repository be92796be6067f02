# A line longer than the channel takes stops shmq send, after every line
# before it was delivered, however the lines were read: all in one read,
# or the long one in a read of its own.  The receiver then learns that the
# sender gave up (exit 1), not that the stream ended.
. tests/lib/tap.sh
T="timeout -k 5 30"
long=$(head -c 9000 /dev/zero | tr '\0' x)	# more than a 16 KiB ring takes

check() {	# check DESCRIPTION: feed stdin of $feeder through send
	name=$(tname long)
	$T $SHMQ recv --capacity 16K "$name" > /tmp/got.$$ 2>/tmp/recv.$$ &
	recv=$!
	$feeder | $T $SHMQ send --capacity 16K "$name" 2>/tmp/send.$$
	st=$?
	wait $recv; rst=$?
	is "$st" 1 "$1: send exits 1"
	like "$(cat /tmp/send.$$)" "longer than the largest this channel takes" "  saying why"
	is "$(cut -c1-20 /tmp/got.$$ | tr '\n' ' ')" "a b c " "  every line before it arrived, and nothing after"
	is "$rst" 1 "  and recv exits 1: the sender gave up"
	like "$(cat /tmp/recv.$$)" "gave up" "  saying so"
	rm -f /tmp/got.$$ /tmp/recv.$$ /tmp/send.$$
}

one_read() { printf 'a\nb\nc\n%s\nd\n' "$long"; }
feeder=one_read; check "lines and the long one in one read"
apart() { printf 'a\nb\nc\n'; sleep 0.3; printf '%s\nd\n' "$long"; }
feeder=apart; check "the long line in a read of its own"
unended() { printf 'a\nb\nc\n%s' "$long"; }
feeder=unended; check "a long last line with no newline"
done_testing
