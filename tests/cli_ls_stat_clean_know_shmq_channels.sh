# ls and stat recognise shmq channels (kind, name, ends, rings), and clean
# removes the segment of a creator that died waiting, and nothing else.
. tests/lib/tap.sh
name=$(tname lsq)
# A creator that waits for a peer; we kill it to leave a stale segment.
$BUILD/helpers/open_and_wait "$name" &
pid=$!
# Until its set-up is done: stat's shmq line says "pair", not "being set up".
for i in $(seq 1 200); do
	$SHMQ stat "$name" 2>/dev/null | grep -q "^shmq *channel '$name', pair" && break
	sleep 0.05
done
out=$($SHMQ ls)
like "$out" "channel '$name', pair" "ls shows the waiting channel's kind and name"
out=$($SHMQ stat "$name")
like "$out" "^shmq *channel '$name', pair" "stat: the kind and name"
like "$out" "^end 0 *pid $pid (alive)" "stat: endpoint 0 is the live creator"
like "$out" "^end 1 *free" "stat: endpoint 1 is free"
like "$out" "^ring 0>1 *1.0 MiB, 0 B queued" "stat: the rings"
json=$($SHMQ stat "$name" --json)
like "$json" "\"name\":\"$name\"" "stat --json: the name"
like "$json" '"lifetime":"pair"' "stat --json: the lifetime"
out=$($SHMQ clean --dry-run)
like "$out" "^no stale shmq segments" "clean leaves a live creator's channel alone"
like "$out" "^kept id:[0-9]* (channel '$name', pair): its creator, waiting for a peer, is pid $pid (alive)" \
	"  and --dry-run says why it kept it"

kill -9 $pid; wait $pid 2>/dev/null
like "$($SHMQ ls)" "stale: creator died waiting" "after kill -9, ls calls it stale"
$SHMQ create "$name-plain" --size 4K >/dev/null
out=$($SHMQ clean --dry-run)
like "$out" "would remove id:.*'$name'" "clean --dry-run names it"
$SHMQ stat "$name" >/dev/null 2>&1; is "$?" 0 "  and removes nothing"
out=$($SHMQ clean)
like "$out" "removed id:.*'$name'" "clean removes it"
$SHMQ stat "$name" >/dev/null 2>&1; is "$?" 1 "  it is gone"
$SHMQ stat "$name-plain" >/dev/null 2>&1; is "$?" 0 "  a plain segment is left alone"
$SHMQ rm "$name-plain"

# Looking is not touching: a segment whose size no shmq segment has is
# never attached by ls or stat (its attach time stays "never").
$SHMQ create "$name-odd" --size 5000 >/dev/null
$SHMQ ls >/dev/null
like "$($SHMQ stat "$name-odd")" "^attach *never" "ls and stat do not attach a segment that cannot be shmq's"
$SHMQ rm "$name-odd"
# A live pair has no key any more (its joiner marked it removed): stat
# and rm still find it by its name.
live=$(tname live)
timeout 20 $SHMQ recv "$live" > /dev/null &
rpid=$!
(for i in $(seq 1 100); do echo "$i"; sleep 0.1; done) | timeout 20 $SHMQ send "$live" &
spid=$!
for i in $(seq 1 200); do
	$SHMQ stat "$live" 2>/dev/null | grep -q "^key *0x00000000" && break
	sleep 0.05
done
out=$($SHMQ stat "$live" 2>&1); st=$?
is "$st" 0 "stat finds a live pair by its name, its key gone"
like "$out" "^shmq *channel '$live', pair" "  and says what it is"
out=$($SHMQ rm "$live" 2>&1)
like "$out" "already removed" "rm finds it too, and says it is already removed"
kill $spid $rpid 2>/dev/null; wait $spid $rpid 2>/dev/null
done_testing
