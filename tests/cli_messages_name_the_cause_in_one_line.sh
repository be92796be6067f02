# Every refusal is one line that names its cause, and exit statuses follow
# one rule per situation: 2 for a usage error, 1 for a failure (a timeout
# that expires included, for servers too), 128+N after signal N, and ping
# as ping(8): 0 if any answer came, else 1.
. tests/lib/tap.sh
T="timeout -k 5 30"
tmp=$(mktemp -d /tmp/shmq-msg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

one_line() {	# one_line DESCRIPTION STATUS PATTERN COMMAND...
	d=$1 want=$2 pat=$3; shift 3
	err=$("$@" 2>&1 >/dev/null); st=$?
	is "$st" "$want" "$d: exit $want"
	is "$(printf '%s\n' "$err" | grep -c .)" 1 "  one line"
	like "$err" "$pat" "  naming the cause"
}

one_line "a missing ftok file" 1 "/nonexistent/file: No such file or directory" \
	$SHMQ send ftok:/nonexistent/file:1 hi
one_line "an unknown long option" 2 "unknown option '--bogus'" $SHMQ ping --bogus x
one_line "an unknown short option" 2 "unknown option '-z'" $SHMQ recv -z x
one_line "an option without its value" 2 "option '--timeout' needs a value" $SHMQ recv x --timeout
one_line "demo --rounds 0" 2 "invalid --rounds '0' (a count from 1" $SHMQ demo --rounds 0
one_line "--spin with --block" 2 "\-\-spin and --block contradict each other" $SHMQ recv --spin --block x
one_line "recv -0 with --raw" 2 "\-0 and --raw contradict each other" $SHMQ recv -0 --raw x
one_line "a user that does not exist" 2 "\-\-trust-uid 'no-such-user-x' is neither a user nor a uid" \
	$SHMQ recv --trust-uid no-such-user-x x
err=$($T $SHMQ send --trust-uid nobody --timeout 100ms "$(tname msg)" hi 2>&1); st=$?
like "$st $err" "^1 .*no peer arrived" "--trust-uid takes a user name, as util-linux does"

name=$(tname plain)
$SHMQ create "$name" --size 4K --mode 0644 > /dev/null
one_line "a plain 0644 segment at a name's key" 1 "is not a shmq segment" \
	$T $SHMQ send "$name" --timeout 1s hi
one_line "create --mode on a segment with another mode" 1 "exists with mode 0644, not the 0600 asked for" \
	$SHMQ create "$name" --size 4K --mode 0600
$SHMQ rm "$name"

name=$(tname big)
$T $SHMQ pong "$name" 2>/dev/null &
p=$!
one_line "ping -s 2M against a 1 MiB ring" 1 "a 2097152-byte message is larger than this channel takes (524280 bytes; see --capacity)" \
	$T $SHMQ ping -s 2M -c 1 "$name"
wait $p

one_line "recv --timeout with no sender" 1 "no peer arrived within 0.3 s" \
	$T $SHMQ recv --timeout 300ms "$(tname lonely)"
name=$(tname hubquiet)
one_line "recv --hub --timeout with no message" 1 "no message within 0.3 s (after 0 received)" \
	$T $SHMQ recv --hub --timeout 300ms "$name"
one_line "pong --hub --timeout with no message" 1 "no message within 0.3 s (after 0 answered)" \
	$T $SHMQ pong --hub --timeout 300ms "$name"

# rm as another user: the owner it names is the real one, or none.
if [ "$(id -u)" = 0 ]; then
	name=$(tname rmother)
	$SHMQ create "$name" --size 4K --mode 0644 > /dev/null
	one_line "rm of root's readable segment as uid 65534" 1 "permission denied (owned by uid 0, created by uid 0)" \
		$BUILD/helpers/runas 65534 $SHMQ rm "$name"
	$SHMQ rm "$name"
	$SHMQ create "$name" --size 4K --mode 0600 > /dev/null
	one_line "rm of root's unreadable segment as uid 65534" 1 "permission denied (not yours, nor readable" \
		$BUILD/helpers/runas 65534 $SHMQ rm "$name"
	$SHMQ rm "$name"
else
	for i in 1 2 3 4 5 6; do skip "needs root to act as another user"; done
fi

# ping and Ctrl-C, as ping(8).
name=$(tname intr)
$SHMQ pong "$name" > /dev/null 2>&1 &
p=$!
$SHMQ ping "$name" -i 50ms > "$tmp/ping" 2>&1 &
q=$!
for i in $(seq 1 100); do grep -q "seq=2 " "$tmp/ping" && break; sleep 0.05; done
kill -INT $q; wait $q; st=$?
is "$st" 0 "ping interrupted after answers: exit 0"
like "$(cat "$tmp/ping")" "round trips of 64 bytes in [0-9.]* s$" "  its summary has no rate (the interval would be measured)"
wait $p
$SHMQ ping "$(tname nobody)" > /dev/null 2>&1 &
q=$!
sleep 0.3
kill -INT $q; wait $q; st=$?
is "$st" 1 "ping interrupted before any answer: exit 1"
$SHMQ ping --classic -q "ftok:$tmp/none:42" > /dev/null 2>&1 &
q=$!
sleep 0.3
kill -INT $q; wait $q; st=$?
is "$st" 1 "  and the same with --classic"
$SHMQ recv "$(tname intr2)" > /dev/null 2>&1 &
q=$!
sleep 0.3
kill -INT $q; wait $q; st=$?
is "$st" 130 "recv interrupted: 130"

# Waiting says so, when there is a terminal to say it on.
if script -qec true /dev/null > /dev/null 2>&1; then
	out=$(script -qec "$SHMQ recv --timeout 1500ms $(tname tty)" /dev/null 2>&1)
	like "$out" "waiting for a sender at 't-tty-" "a recv that waits says so on a terminal"
	out=$($SHMQ recv --timeout 1500ms "$(tname notty)" 2>&1)
	is "$(printf '%s\n' "$out" | grep -c waiting)" 0 "  and not in a script"
else
	skip "script(1) cannot make a terminal here"
	skip "script(1) cannot make a terminal here"
fi
# A channel made with a wider mode: the refusal says how to join it.
mm=$(tname mode)
timeout 10 $SHMQ recv --mode 0660 "$mm" -n 1 > /dev/null &
rp=$!
for i in $(seq 1 100); do $SHMQ stat "$mm" > /dev/null 2>&1 && break; sleep 0.05; done
one_line "a joiner refused for the channel's mode 0660" 1 "grants more than the 0600 asked for.*(--mode 0660 to join it)" \
	$SHMQ send "$mm" hi
echo hi | $SHMQ send --mode 0660 "$mm"; is "$?" 0 "  and with --mode 0660 it joins"
wait $rp
done_testing
