# The classic commands touch only what they made.  pong --classic removes
# the ftok file only if it made it (never a user's file that the address
# happens to name); either command that gives up, times out or is
# interrupted removes the segment (and file) it made, and nothing else; an
# "end" left by an earlier run does not end the next one; and shmq clean
# removes a dead classic leftover.
. tests/lib/tap.sh
T="timeout -k 5 30"
tmp=$(mktemp -d /tmp/shmq-classic2.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
keyof() { $SHMQ stat "ftok:$1:42" 2>/dev/null | sed -n 's/^key *//p'; }
segs() { ipcs -m | grep -c "^$1 " ; }

# A user's file at the address: used for the key, never removed.
important="$tmp/important.txt"
echo precious > "$important"
$T $SHMQ pong --classic "ftok:$important:42" > /dev/null &
p=$!
out=$($T $SHMQ ping --classic -q "ftok:$important:42"); st=$?
wait $p; pst=$?
is "$st$pst" "00" "ping and pong --classic on a user's file: both exit 0"
is "$(cat "$important" 2>/dev/null)" "precious" "  and the file is still there, unchanged"
ok $(keyof "$important" | grep -q .; [ $? -ne 0 ]; echo $?) "  and no segment is left"

# A file they made is theirs to remove.
made="$tmp/made"
$T $SHMQ pong --classic "ftok:$made:42" > /dev/null &
p=$!
sleep 0.2
$T $SHMQ ping --classic -q -c 10 "ftok:$made:42" > /dev/null
wait $p
ok $([ ! -e "$made" ]; echo $?) "a file pong made is removed at 'end'"

# Giving up: each removes what it made.
out=$($T $SHMQ ping --classic -q --timeout 300ms "ftok:$tmp/lonely:42" 2>&1); st=$?
is "$st" 1 "ping --classic with no pong gives up: exit 1"
ok $([ ! -e "$tmp/lonely" ]; echo $?) "  removing the file it made"
is "$(ipcs -m | awk '$5 == 20' | wc -l | tr -d ' ')" 0 "  and the segment it made"
$T $SHMQ pong --classic --timeout 300ms "ftok:$tmp/lonely:42" 2>/dev/null; st=$?
is "$st" 1 "pong --classic with no ping gives up: exit 1"
ok $([ ! -e "$tmp/lonely" ]; echo $?) "  removing the file it made"
is "$(ipcs -m | awk '$5 == 20' | wc -l | tr -d ' ')" 0 "  and the segment it made"
$SHMQ pong --classic "ftok:$tmp/lonely:42" 2>/dev/null &
p=$!
sleep 0.3
kill -INT $p; wait $p; st=$?
is "$st" 130 "pong --classic interrupted: 130"
ok $([ ! -e "$tmp/lonely" ]; echo $?) "  nothing of it left, file"
is "$(ipcs -m | awk '$5 == 20' | wc -l | tr -d ' ')" 0 "  or segment"

# A segment someone else made is left where it is; a stale "end" in it
# does not stop the next run.
echo x > "$tmp/shared"
$SHMQ create "ftok:$tmp/shared:42" --size 20 --mode 0644 > /dev/null
$T $SHMQ ping --classic -q --timeout 200ms "ftok:$tmp/shared:42" > /dev/null 2>&1
is "$(keyof "$tmp/shared" | grep -c .)" 1 "a ping that gives up leaves a segment it did not make (with its 'end')"
$T $SHMQ pong --classic "ftok:$tmp/shared:42" > "$tmp/pong.out" &
p=$!
sleep 0.2
out=$($T $SHMQ ping --classic -q -c 5 "ftok:$tmp/shared:42"); st=$?
wait $p; pst=$?
is "$st$pst" "00" "  the next pong ignores that stale 'end' and answers (exit 0, 0)"
like "$out" "^5 round trips" "  all 5 rounds"
is "$(keyof "$tmp/shared" | grep -c .)" 0 "  and removes the segment at the real 'end', as the recipe says"

# clean: a dead classic leftover goes (one that holds what the protocol
# writes: a ping that gave up left its "end"); 20 zero bytes, a live one
# and others stay.
echo y > "$tmp/left"
$SHMQ create "ftok:$tmp/left:42" --size 20 --mode 0644 > /dev/null
$T $SHMQ ping --classic -q --timeout 100ms "ftok:$tmp/left:42" > /dev/null 2>&1
$SHMQ create "ftok:$tmp/left:43" --size 21 > /dev/null
$SHMQ create "ftok:$tmp/left:44" --size 20 > /dev/null
out=$($SHMQ clean --dry-run)
like "$out" "would remove id:.*classic ping-pong" "clean --dry-run names a dead classic leftover"
out=$($SHMQ clean)
like "$out" "removed id:.*classic ping-pong" "clean removes it"
is "$(keyof "$tmp/left" | grep -c .)" 0 "  it is gone"
$SHMQ stat "ftok:$tmp/left:43" > /dev/null 2>&1; is "$?" 0 "  a 21-byte segment is left alone"
$SHMQ stat "ftok:$tmp/left:44" > /dev/null 2>&1; is "$?" 0 "  so is a 20-byte one of zeroes: it could be anyone's"
$SHMQ rm "ftok:$tmp/left:43" "ftok:$tmp/left:44"

# A segment at the address that is not the recipe's 20 bytes is refused,
# not written; an address that does not parse leaves no file behind.
$SHMQ create "ftok:$tmp/left:45" --size 4K > /dev/null
out=$($T $SHMQ ping --classic -q --timeout 200ms "ftok:$tmp/left:45" 2>&1); st=$?
is "$st" 1 "ping --classic on a 4 KiB segment: exit 1"
like "$out" "not the classic recipe's 20-byte segment" "  saying why"
out=$($T $SHMQ pong --classic --timeout 200ms "ftok:$tmp/left:45" 2>&1); st=$?
is "$st" 1 "pong --classic on it: exit 1 too"
is "$($SHMQ stat "ftok:$tmp/left:45" --json | grep -c '"nattch": *0')" 1 "  and nobody attached it"
$SHMQ rm "ftok:$tmp/left:45"
$T $SHMQ ping --classic -q --timeout 200ms "ftok:$tmp/new:999" > /dev/null 2>&1
ok $([ ! -e "$tmp/new" ]; echo $?) "ping --classic of an address with a bad project id leaves no file"
done_testing
