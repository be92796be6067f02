# On a persistent channel the command's role fixes its side: every send
# produces into the stream that every recv consumes, however many senders
# come first, and nothing is stranded.
. tests/lib/tap.sh
T="timeout -k 5 30"
name=$(tname persist)
trap '$SHMQ rm --force "$name" >/dev/null 2>&1' EXIT
$T $SHMQ send --persistent "$name" a b c; st1=$?
$T $SHMQ send --persistent "$name" d e; st2=$?
is "$st1$st2" "00" "two sends, one after the other, into a persistent channel"
out=$($T $SHMQ recv --persistent -n 5 "$name" | tr '\n' ' ')
is "$out" "a b c d e " "one recv gets all five, in order"
$T $SHMQ send --persistent "$name" f
out=$($T $SHMQ recv --persistent -n 1 "$name")
is "$out" "f" "a later send is a later recv's"
out=$($T $SHMQ recv --persistent --timeout 5s "$name" 2>&1); st=$?
is "$st:$out" "0:" "nothing left, and the last sender closed: a recv ends at once (0)"
$SHMQ rm "$name" >/dev/null; is "$?" 0 "the persistent channel is removed by hand"
done_testing
