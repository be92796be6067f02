# `make demo` (shmq demo) is bounded by time, not by its count: with four
# processes keeping both CPUs busy, it still finishes, and in well under a
# minute (its full-speed step stops after 3 s), with nothing left behind.
. tests/lib/tap.sh
busy=""
for i in 1 2 3 4; do
	sh -c 'while :; do :; done' &
	busy="$busy $!"
done
trap 'kill $busy 2>/dev/null' EXIT
start=$(date +%s)
out=$(timeout -k 5 120 $SHMQ demo 2>&1); st=$?
took=$(( $(date +%s) - start ))
kill $busy 2>/dev/null; wait $busy 2>/dev/null
is "$st" 0 "shmq demo with 4 busy processes beside it: exit 0"
like "$out" "round trips of 1024 bytes in" "  its full-speed step says what it did"
like "$out" "Nothing is left behind" "  and it reaches its last step"
ok $([ "$took" -lt 60 ]; echo $?) "  in under a minute (${took} s)"
done_testing
