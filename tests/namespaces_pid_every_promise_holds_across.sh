# Containers: one side in another PID namespace (as in a Kubernetes pod or
# `docker run --ipc=host`), made with unshare.  From there the kernel's
# creator pid of a segment reads 0 and a pid names nobody, or somebody
# else; every promise must hold anyway: messages flow both ways, a kill -9
# is noticed at once, `shmq clean` from either side removes nothing live
# and everything dead, a persistent slot never has two live holders, hubs
# serve, and nothing is left behind.
. tests/lib/tap.sh
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "1..0 # SKIP cannot make a PID namespace here (unshare needs root)"
	exit 0
fi
tmp=$(mktemp -d /tmp/shmq-pidns.XXXXXX)
S=$(cd "$(dirname "$SHMQ")" && pwd)/$(basename "$SHMQ")
TO="--timeout 20s"
# inns CMD...: CMD as pid 1 of a new PID namespace, with its own /proc.
inns() { unshare --pid --fork --mount-proc "$@"; }
cleanup() {
	pkill -9 -f "pidns-.-$$" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# until_true LIMIT_S CMD...: run CMD every 50 ms until it succeeds.
until_true() {
	lim=$1; shift
	for i in $(seq 1 $((lim * 20))); do "$@" && return 0; sleep 0.05; done
	return 1
}
# shmq_pid WORDS: the host pid of the shmq process whose command line
# starts with "shmq WORDS" (not unshare's, which only contains it).
shmq_pid() { pgrep -f "^$S $*" | head -1; }
running() { test -n "$(shmq_pid "$@")"; }
# waiting NAME: a segment for NAME is there and attached.
waiting() { "$S" ls 2>/dev/null | grep -q "'$1'"; }
ipcs_all() { ipcs -m | awk 'NR > 3 && NF >= 6 && $1 != "0x00000000"' | sort; ipcs -s; ipcs -q; }
before=$(ipcs_all)
tag="pidns-.-$$"

# 1. A receiver waits on the host; `clean` runs in a container.
q=$(tname "pidns-a")
$S recv $TO -n 1 "$q" > "$tmp/a.out" 2> "$tmp/a.err" & r=$!
until_true 20 waiting "$q"
out=$(inns $S clean --dry-run)
unlike=$(printf '%s\n' "$out" | grep -c "would remove.*$q")
is "$unlike" 0 "clean --dry-run in another PID namespace would not remove a live host receiver's channel"
like "$out" "kept" "  and it says what it kept, and why"
inns $S clean > "$tmp/clean.out"
ok $(waiting "$q"; echo $?) "clean in another PID namespace leaves the live host channel in place"
inns $S send $TO "$q" "from the container"; st=$?
wait $r; rs=$?
is "$st$rs" "00" "a sender in the container joins the host's receiver (no 'creator is dead')"
is "$(cat "$tmp/a.out")" "from the container" "  and the message arrives whole"

# 2. The other way: the receiver waits in the container, the host cleans.
q=$(tname "pidns-b")
inns $S recv $TO -n 1 "$q" > "$tmp/b.out" 2> "$tmp/b.err" & r=$!
until_true 20 waiting "$q"
$S clean > "$tmp/clean2.out"
ok $(waiting "$q"; echo $?) "clean on the host leaves a container receiver's channel in place"
$S send $TO "$q" "from the host"; st=$?
wait $r; rs=$?
is "$st$rs" "00" "the host's sender joins the container's receiver"
is "$(cat "$tmp/b.out")" "from the host" "  and the message arrives whole ($(cat "$tmp/b.err"))"

# 3. Streams both ways, 20,000 lines each.
q=$(tname "pidns-c")
seq 1 20000 | inns $S send $TO "$q" & s=$!
$S recv $TO "$q" > "$tmp/c.out"; rs=$?
wait $s
is "$rs:$(seq 1 20000 | cmp - "$tmp/c.out" && echo same)" "0:same" "20,000 lines from the container to the host, whole and in order"
q=$(tname "pidns-d")
seq 1 20000 | $S send $TO "$q" & s=$!
inns $S recv $TO "$q" > "$tmp/d.out"; rs=$?
wait $s
is "$rs:$(seq 1 20000 | cmp - "$tmp/d.out" && echo same)" "0:same" "20,000 lines from the host to the container, whole and in order"

# 4. kill -9 of either side is noticed within the bound.
q=$(tname "pidns-e")
seq 1 100000000 | inns $S send $TO "$q" 2>/dev/null & s=$!
$S recv $TO "$q" > "$tmp/e.out" 2> "$tmp/e.err" & r=$!
until_true 20 test -s "$tmp/e.out"
kill -9 "$(shmq_pid send $TO "$q")"
ms=$(wait_gone $r 5000)
wait $r; rs=$?
ok $([ "$ms" -lt 1000 ]; echo $?) "kill -9 of the container's sender: the host receiver ends within 1 s ($ms ms)"
like "$rs $(cat "$tmp/e.err")" "^1 .*died" "  with status 1, saying the peer died"
q=$(tname "pidns-f")
seq 1 100000000 | $S send $TO "$q" 2>/dev/null & s=$!
inns $S recv $TO "$q" > "$tmp/f.out" 2> "$tmp/f.err" & r=$!
until_true 20 test -s "$tmp/f.out"
kill -9 "$(shmq_pid send $TO "$q")"
ms=$(wait_gone "$(shmq_pid recv $TO "$q")" 5000)
wait $r; rs=$?
ok $([ "$ms" -lt 1000 ]; echo $?) "kill -9 of the host's sender: the container's receiver ends within 1 s ($ms ms)"
like "$rs $(cat "$tmp/f.err")" "^1 .*died" "  with status 1, saying the peer died"
wait $s 2>/dev/null

# 5. A dead creator's leftover is removed from either namespace; a live
# one from neither.
q=$(tname "pidns-g")
inns $S recv $TO -n 1 "$q" 2>/dev/null & r=$!
until_true 20 waiting "$q"
kill -9 "$(shmq_pid recv $TO -n 1 "$q")"
wait $r 2>/dev/null
out=$($S clean --dry-run)
like "$out" "would remove.*$q" "a container creator killed while waiting: clean on the host would remove its channel"
inns $S clean > "$tmp/clean3.out"
like "$(cat "$tmp/clean3.out")" "removed.*$q" "  and clean in another container does"
ok $(! waiting "$q"; echo $?) "  it is gone"

# 6. Persistent: never two live consumers on one slot.
q=$(tname "pidns-h")
inns $S recv --persistent $TO -n 1 "$q" > "$tmp/h.out" 2>&1 & r=$!
until_true 20 waiting "$q"
$S recv --persistent --timeout 2s -n 1 "$q" > "$tmp/h2.out" 2> "$tmp/h2.err"; st=$?
ok $([ $st -ne 0 ]; echo $?) "a second consumer on the host is refused while the container's lives"
like "$(cat "$tmp/h2.err")" "held by live\|busy" "  saying the slot is held by a live process"
$S send --persistent $TO "$q" "once"; st=$?
wait $r; rs=$?
is "$st$rs:$(cat "$tmp/h.out")" "00:once" "  the container's consumer gets the message, once"
# A sender that stays, fed by a FIFO; a consumer in a container that
# waits, killed; then a host consumer must get the slot and the message.
mkfifo "$tmp/feed"
$S send --persistent $TO "$q" < "$tmp/feed" & s=$!
exec 8> "$tmp/feed"
sender_in() { $S stat "$q" 2>/dev/null | grep -q '^end 0 *pid'; }
until_true 20 sender_in
inns $S recv --persistent $TO -n 1 "$q" > "$tmp/h3.out" 2>&1 & r=$!
until_true 20 running recv --persistent $TO -n 1 "$q"
sleep 0.2
kill -9 "$(shmq_pid recv --persistent $TO -n 1 "$q")"; wait $r 2>/dev/null
$S recv --persistent $TO -n 1 "$q" > "$tmp/h4.out" 2>&1 & r=$!
echo after >&8
exec 8>&-
wait $r; rs=$?
wait $s; st=$?
is "$st$rs:$(cat "$tmp/h4.out")" "00:after" "  after a kill -9 of the container's consumer, a host consumer takes the slot"
$S rm "$q" > /dev/null

# 7. Hubs: a server on the host, clients in containers, and back.
q=$(tname "pidns-i")
$S pong --hub $TO "$q" > /dev/null 2>&1 & p=$!
until_true 20 waiting "$q"
inns $S ping -q -i 0 -c 50 $TO "$q" > "$tmp/i.out" 2>&1; st=$?
is "$st" 0 "a client in a container pings the host's hub server ($(tail -1 "$tmp/i.out"))"
inns $S clean > /dev/null
ok $(waiting "$q"; echo $?) "  clean in the container leaves the serving hub alone"
kill -INT $p; wait $p 2>/dev/null
q=$(tname "pidns-j")
inns $S pong --hub $TO "$q" > /dev/null 2>&1 & p=$!
until_true 20 waiting "$q"
$S ping -q -i 0 -c 50 $TO "$q" > "$tmp/j.out" 2>&1; st=$?
is "$st" 0 "a host client pings a hub server in a container"
$S clean > /dev/null
ok $(waiting "$q"; echo $?) "  clean on the host leaves it alone"
kill -9 "$(shmq_pid pong --hub $TO "$q")"; wait $p 2>/dev/null
$S clean > "$tmp/clean4.out"
like "$(cat "$tmp/clean4.out")" "removed.*$q" "  once killed, clean on the host removes the dead server's hub"

# 8. Topics: a publisher on one side, subscribers on both.
q=$(tname "pidns-k")
inns $S sub $TO "$q" > "$tmp/k1.out" 2>&1 & r1=$!
$S sub $TO "$q" > "$tmp/k2.out" 2>&1 & r2=$!
until_true 20 running sub $TO "$q"
seq 1 5000 | inns $S pub $TO --subscribers 2 "$q"; st=$?
wait $r1; rs1=$?
wait $r2; rs2=$?
is "$st$rs1$rs2:$(seq 1 5000 | cmp - "$tmp/k1.out" && seq 1 5000 | cmp - "$tmp/k2.out" && echo same)" \
	"000:same" "a publisher in a container: subscribers in it and on the host get all 5000 lines"
q=$(tname "pidns-l")
inns $S sub $TO "$q" > "$tmp/l.out" 2> "$tmp/l.err" & r=$!
until_true 20 running sub $TO "$q"
seq 1 100000000 | $S pub $TO --subscribers 1 "$q" 2>/dev/null & s=$!
until_true 20 test -s "$tmp/l.out"
inns $S clean > /dev/null
ok $(waiting "$q"; echo $?) "  clean in the container leaves the host's live topic alone"
kill -9 "$(shmq_pid pub $TO --subscribers 1 "$q")"
ms=$(wait_gone "$(shmq_pid sub $TO "$q")" 5000)
wait $r; rs=$?
ok $([ "$ms" -lt 1000 ]; echo $?) "  kill -9 of the host's publisher: the container's subscriber ends within 1 s ($ms ms)"
like "$rs $(cat "$tmp/l.err")" "^1 .*died" "  with status 1, saying the publisher died"
inns $S clean > "$tmp/clean5.out"
like "$(cat "$tmp/clean5.out")" "removed.*$q" "  and clean in the container removes the dead publisher's topic"
wait $s 2>/dev/null

# A lossless subscriber in a container, stopped, holds the host's
# publisher; killed, it lets go at once: its life token says it is dead.
q=$(tname "pidns-m")
inns $S sub $TO --slots 64 --slot-size 64 "$q" > /dev/null 2>&1 & r=$!
until_true 20 waiting "$q"
sleep 0.3	# it has joined: it made the topic, then took its slot
kill -STOP "$(shmq_pid sub $TO --slots 64 --slot-size 64 "$q")"
seq 1 1000 | $S pub $TO --subscribers 1 "$q" & s=$!
sleep 0.5
ok $(kill -0 $s 2>/dev/null; echo $?) "a stopped subscriber in a container holds the host's publisher"
kill -9 "$(shmq_pid sub $TO --slots 64 --slot-size 64 "$q")"
ms=$(wait_gone $s 5000)
wait $s; st=$?
wait $r 2>/dev/null
ok $([ "$ms" -lt 1000 ] && [ "$st" = 0 ]; echo $?) "  killed, it lets the publisher finish within 1 s ($ms ms, exit $st)"

# 9. Nothing left behind.
after=$(until_true 5 test -z "$(pgrep -f "$tag")"; ipcs_all)
is "$after" "$before" "ipcs -m, -s and -q show what they showed before"
done_testing
