# shmq create, stat and rm on one segment, and rm's plain-word failures.
. tests/lib/tap.sh
name=$(tname crs)
trap '$SHMQ rm --force "$name" "$name-a" "$name-b" "$name-root" >/dev/null 2>&1' EXIT
hold=$BUILD/helpers/hold

out=$($SHMQ create "$name" --size 10K --mode 0640); st=$?
is "$st" 0 "create exits 0"
like "$out" "^created: id:[0-9]* key:0x" "  and says what it created"
id=$(printf '%s\n' "$out" | sed -n 's/^created: id:\([0-9]*\).*/\1/p')

json=$($SHMQ stat "$name" --json)
like "$json" '"size":10240' "stat --json: the size"
like "$json" '"mode":"0640"' "  the mode"
like "$json" "\"shmid\":$id" "  the id"
like "$($SHMQ stat id:$id)" "^size *10.0 KiB (10240 bytes)" "stat by id, in words"

out=$($SHMQ create "$name" --size 10K); st=$?
is "$st" 0 "create of an existing segment without --excl: exit 0"
like "$out" "^exists: id:$id" "  reports the existing one"
out=$($SHMQ create "$name" --size 10K --excl 2>&1); st=$?
is "$st" 1 "with --excl: exit 1"
like "$out" "already exists" "  says it already exists"

# An attachment makes rm refuse without --force.
fifo=/tmp/shmq-hold.$$
mkfifo $fifo
$hold $id < $fifo > $fifo.out &
hpid=$!
exec 9>$fifo
for i in $(seq 1 200); do grep -q held $fifo.out 2>/dev/null && break; sleep 0.05; done
out=$($SHMQ rm "$name" 2>&1); st=$?
is "$st" 1 "rm of an attached segment: exit 1"
like "$out" "in use by 1 attachment" "  says it is in use"
out=$($SHMQ rm --force "$name" 2>&1); st=$?
is "$st" 0 "rm --force removes it"
out=$($SHMQ rm "id:$id" 2>&1); st=$?
is "$st" 1 "rm of a removed, still attached segment: exit 1"
like "$out" "already removed" "  says it was already removed"
like "$($SHMQ ls)" "removed, still attached" "ls shows it as removed, still attached"
exec 9>&-
wait $hpid
rm -f $fifo $fifo.out

out=$($SHMQ rm "$name" 2>&1); st=$?
is "$st" 1 "rm of a missing segment: exit 1"
like "$out" "$name: no such segment" "  says no such segment"

# rm keeps going past a failure and still exits 1.
$SHMQ create "$name-a" --size 4K >/dev/null
$SHMQ create "$name-b" --size 4K >/dev/null
out=$($SHMQ rm "$name-a" "$name-missing" "$name-b" 2>&1); st=$?
is "$st" 1 "rm a, missing, b: exit 1"
like "$out" "$name-missing: no such segment" "  reports the missing one"
$SHMQ stat "$name-a" >/dev/null 2>&1; is "$?" 1 "  a was removed"
$SHMQ stat "$name-b" >/dev/null 2>&1; is "$?" 1 "  b was removed, past the failure"

# A plain segment made at a name's key is the user's, not a channel: a
# channel opener refuses it and leaves it alone.
$SHMQ create "$name-plain" --size 64K >/dev/null
out=$($SHMQ recv "$name-plain" --timeout 300ms 2>&1); st=$?
is "$st" 1 "recv on a name that shmq create made: exit 1"
like "$out" "segment id [0-9]* is not a shmq channel" "  it is not a channel"
$SHMQ stat "$name-plain" >/dev/null 2>&1
is "$?" 0 "  and it is still there"
$SHMQ rm "$name-plain" >/dev/null

# Permission denied, as another user.
runas=$BUILD/helpers/runas
if [ "$(id -u)" = 0 ]; then
	$SHMQ create "$name-root" --size 4K --mode 0644 >/dev/null
	out=$($runas 65534 $SHMQ rm "$name-root" 2>&1); st=$?
	is "$st" 1 "rm of root's segment as uid 65534: exit 1"
	like "$out" "permission denied" "  says permission denied"
	$SHMQ rm "$name-root"
	is "$?" 0 "root removes it"
else
	skip "permission denied needs root to switch to uid 65534"
	skip "permission denied needs root"
	skip "permission denied needs root"
fi
done_testing
