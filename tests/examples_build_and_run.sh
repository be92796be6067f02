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
left=$(tname left) right=$(tname right)
timeout 30 "$tmp/event_loop" "$left" "$right" > "$tmp/loop.out" 2> "$tmp/loop.err" & l=$!
timeout 30 "$SHMQ" send "$left" one two & s1=$!
timeout 30 "$SHMQ" send "$right" three; s2=$?
wait $s1; s1=$?
wait $l; sl=$?
is "$sl.$s1.$s2" "0.0.0" "the event loop and both senders exit 0"
is "$(sort "$tmp/loop.out")" "$(printf '%s: one\n%s: two\n%s: three' "$left" "$left" "$right" | sort)" \
	"the loop printed every message with its channel"
is "$(grep -v '^timer ticks: [0-9]*$' "$tmp/loop.err")" "" "and nothing on stderr but the timer's count"
done_testing
