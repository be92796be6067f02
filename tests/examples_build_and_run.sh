# The examples in examples/ (and so the README's) compile against the
# public header alone and do what they say.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-ex.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror $SAN_CFLAGS -Iinclude -o "$tmp/echo" examples/echo.c "$BUILD/libshmq.a" -lpthread
is "$?" 0 "examples/echo.c compiles with -Wall -Wextra -Werror"
name=$(tname echo)
timeout 30 "$tmp/echo" "$name" > "$tmp/a" & a=$!
timeout 30 "$tmp/echo" "$name" > "$tmp/b"; sb=$?
wait $a; sa=$?
is "$sa.$sb" "0.0" "two runs of it meet and both exit 0"
is "$(cat "$tmp/a" "$tmp/b")" "$(printf 'joiner got: answer to question 1\njoiner got: answer to question 2\njoiner got: answer to question 3')" \
	"the joiner prints three answers"
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror $SAN_CFLAGS -Iinclude -o "$tmp/event_loop" examples/event_loop.c "$BUILD/libshmq.a" -lpthread
is "$?" 0 "examples/event_loop.c compiles with -Wall -Wextra -Werror"
svc=$(tname svc) left=$(tname left) right=$(tname right)
# As its comment says: a sender on each channel (left's keeps its stream
# open until $tmp/go is written), then pings while the loop runs.
mkfifo "$tmp/go"
timeout 30 "$tmp/event_loop" "$svc" "$left" "$right" > "$tmp/loop.out" 2> "$tmp/loop.err" & l=$!
{ printf 'one\ntwo\n'; timeout 30 cat "$tmp/go"; } | timeout 30 "$SHMQ" send "$left" & s1=$!
timeout 30 "$SHMQ" send "$right" three; s2=$?
timeout 30 "$SHMQ" ping "$svc" -c 5 -i 0 -q > "$tmp/ping1" 2>&1 & p1=$!
timeout 30 "$SHMQ" ping "$svc" -c 5 -i 0 -q > "$tmp/ping2" 2>&1; p2=$?
wait $p1; p1=$?
is "$p1.$p2" "0.0" "two pings through the loop's hub at once: every answer right"
like "$(cat "$tmp/ping1")" "5 round trips" "  and each counts its 5 round trips"
: > "$tmp/go"
wait $s1; s1=$?
wait $l; sl=$?
is "$sl.$s1.$s2" "0.0.0" "the event loop and both senders exit 0"
is "$(sort "$tmp/loop.out")" "$(printf '%s: one\n%s: two\n%s: three' "$left" "$left" "$right" | sort)" \
	"the loop printed every message with its channel"
is "$(grep -v '^timer ticks: [0-9]*$' "$tmp/loop.err")" "" "and nothing on stderr but the timer's count"

# Its Python twin, on asyncio, run the same way.
if ! command -v python3 >/dev/null || [ -n "${SAN_CFLAGS:-}" ] ||
	! ls "$BUILD"/python/_shmq.*.so >/dev/null 2>&1; then
	for i in 1 2 3 4; do skip "examples/event_loop.py needs python3 and the module's native core"; done
else
	svc=$(tname psvc) left=$(tname pleft) right=$(tname pright)
	mkfifo "$tmp/go2"
	PYTHONPATH=python SHMQ_PYTHON_CORE="$BUILD/python" timeout 30 python3 examples/event_loop.py \
		"$svc" "$left" "$right" > "$tmp/ploop.out" 2> "$tmp/ploop.err" & l=$!
	{ printf 'one\ntwo\n'; timeout 30 cat "$tmp/go2"; } | timeout 30 "$SHMQ" send "$left" & s1=$!
	timeout 30 "$SHMQ" send "$right" three; s2=$?
	timeout 30 "$SHMQ" ping "$svc" -c 5 -i 0 -q > "$tmp/pping1" 2>&1 & p1=$!
	timeout 30 "$SHMQ" ping "$svc" -c 5 -i 0 -q > "$tmp/pping2" 2>&1; p2=$?
	wait $p1; p1=$?
	is "$p1.$p2" "0.0" "event_loop.py: two pings through its hub at once, every answer right"
	: > "$tmp/go2"
	wait $s1; s1=$?
	wait $l; sl=$?
	is "$sl.$s1.$s2" "0.0.0" "  it and both senders exit 0"
	is "$(sort "$tmp/ploop.out")" "$(printf '%s: one\n%s: two\n%s: three' "$left" "$left" "$right" | sort)" \
		"  it printed every message with its channel"
	is "$(cat "$tmp/ploop.err")" "" "  and nothing on stderr"
fi
done_testing
