# --classic speaks the classic recipe's raw protocol: shmq with itself, and
# each side with the Python version of the other (Debian's python3-sysv-ipc;
# skipped where it is not installed).  The server removes the segment and
# the ftok file at "end"; nothing is left.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-classic.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
T="timeout -k 5 60"

path="$tmp/example"
out=$($T $SHMQ pong --classic "ftok:$path:42" & $T $SHMQ ping --classic "ftok:$path:42" -c 100 -i 0; wait)
like "$out" "100 round trips of 4 bytes" "shmq ping --classic with shmq pong --classic: 100 rounds"
ok $([ ! -e "$path" ]; echo $?) "  the server unlinked the ftok file at 'end'"
like "$($SHMQ --help; $SHMQ ping --help)" "ftok:/tmp/example:42" "the default address is the recipe's ftok:/tmp/example:42"

py=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import sysv_ipc' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	for i in 1 2 3 4 5 6; do skip "python3-sysv-ipc is not installed"; done
else
	$T "$py" tests/classic/server.py "$path" > "$tmp/server.out" 2>&1 &
	sleep 0.3
	out=$($T $SHMQ ping --classic "ftok:$path:42" -c 100 -i 0); st=$?
	wait
	is "$st" 0 "shmq ping --classic against the Python server: exit 0"
	like "$(cat "$tmp/server.out")" "server: answered 100" "  the Python server answered 100 pings"
	like "$out" "^100 round trips of 4 bytes" "  and shmq timed 100 round trips"

	$T $SHMQ pong --classic "ftok:$path:42" -v > "$tmp/pong.out" 2>&1 &
	sleep 0.1
	out=$($T "$py" tests/classic/client.py "$path" 100 2>&1); st=$?
	wait
	is "$st" 0 "the Python client against shmq pong --classic: exit 0"
	like "$out" "client: 100 round trips" "  the Python client did 100 round trips"
	like "$(cat "$tmp/pong.out")" "answered 100 pings, then 'end': segment removed" \
		"  and shmq pong removed the segment at 'end'"
fi
ok $([ ! -e "$path" ]; echo $?) "no ftok file left"
done_testing
