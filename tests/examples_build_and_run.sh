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
done_testing
