# A --lossy export whose importer is stopped (SIGSTOP) never holds the
# origin's publisher; after SIGCONT the importer's subscriber gets a
# strictly increasing subset, and the gaps the importer reports add up,
# with what arrived, to exactly what was published.  A lossless export
# held at the high-water mark by a stopped importer waits without
# spinning and stops at SIGTERM.  (One IPC namespace:
# the origin and the imported topic have different names.)
. tests/lib/tap.sh
need_bridge
tmp=$(mktemp -d /tmp/shmq-bridge.XXXXXX)
trap 'kill -CONT $m 2>/dev/null; kill $e $m $s 2>/dev/null; rm -rf "$tmp"' EXIT
N=200000
from=$(tname blo) to=$(tname bli)
T="timeout -k 5 120"
$T $SHMQ bridge -v --lossy "$from" 'tcp://127.0.0.1:*' 2> "$tmp/exp.err" & e=$!
i=0
until grep -q '^shmq: bridge: bound ' "$tmp/exp.err" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02
done
port=$(sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/exp.err")
# Not under timeout: $m must be the importer itself, to be stopped.
$SHMQ bridge "tcp://127.0.0.1:$port" "$to" 2> "$tmp/imp.err" & m=$!
$T $SHMQ sub "$to" > "$tmp/got" & s=$!
i=0
until [ "$($SHMQ stat "$to" 2>/dev/null | grep -c ' alive  *lossless')" = 1 ] &&
      grep -q 'an importer subscribed' "$tmp/exp.err"; do
	i=$((i + 1)); [ $i -gt 1000 ] && break; sleep 0.02
done
kill -STOP $m
# The publisher waits for the exporter's subscription, then must not be
# held at all: the export is lossy and its importer is stopped.
seq 1 $N | $T $SHMQ pub --subscribers 1 --timeout 30s "$from"; st=$?
is "$st" 0 "the publisher sends all $N lines while the importer is stopped: never held"
kill -CONT $m
wait $e; se=$?
wait $m; sm=$?
wait $s; ss=$?
is "$se.$sm.$ss" "0.0.0" "after SIGCONT the exporter, the importer and the subscriber exit 0"
# Lost where?  At the origin topic (the lossy export lapped) or at the
# network (full while the importer was stopped): the importer's gaps
# count both; the exporter says what it sent.
like "$(cat "$tmp/exp.err")" "messages exported" "the exporter says how many it exported"
got=$(wc -l < "$tmp/got")
lost=$(sed -n 's/^shmq: bridge: .*: lost \([0-9]*\) message.*/\1/p' "$tmp/imp.err" | awk '{ n += $1 } END { print n + 0 }')
is "$((got + lost))" "$N" "what arrived ($got) and the gaps reported ($lost) add up to what was published"
sort -n -c "$tmp/got" 2>/dev/null && [ "$(sort -n -u "$tmp/got" | wc -l)" = "$got" ]
ok $? "  what arrived is strictly increasing: no duplicate, no reordering"
ok $([ "$got" -lt $N ] && [ "$got" -gt 0 ]; echo $?) "  some arrived, some were lost (the test saw both)"

# A lossless export at the high-water mark, its importer stopped: it waits
# without burning a CPU, and SIGTERM stops it at once.
$T $SHMQ bridge "$from" 'tcp://127.0.0.1:*' -v 2> "$tmp/exp2.err" & e=$!
i=0
until grep -q '^shmq: bridge: bound ' "$tmp/exp2.err" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02
done
port=$(sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/exp2.err")
$SHMQ bridge "tcp://127.0.0.1:$port" "$to" 2> /dev/null & m=$!
i=0
until grep -q 'an importer subscribed' "$tmp/exp2.err"; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02
done
kill -STOP $m
# 300 MB of 1 KB lines: more than the queues hold (1,000 batches each side).
yes "$(head -c 1000 /dev/zero | tr '\0' x)" | head -n 300000 | $SHMQ pub "$from" > /dev/null 2>&1 & p=$!
sleep 1.5
# The exporter's own process (timeout's child): its CPU over one second.
x=$(pgrep -P $e)
cpu() { awk '{ print $14 + $15 }' /proc/$x/stat; }
c0=$(cpu); sleep 1; c1=$(cpu)
ok $([ $((c1 - c0)) -lt 30 ]; echo $?) "a lossless exporter held at the mark waits, not spins ($((c1 - c0)) ticks of CPU in 1 s)"
t0=$(now_ms)
kill -TERM $x
wait $e; se=$?
took=$(( $(now_ms) - t0 ))
ok $([ $took -lt 3000 ]; echo $?) "  and SIGTERM stops it within ${took} ms (exit $se)"
kill $p 2>/dev/null; wait $p 2>/dev/null
kill -CONT $m; kill $m; wait $m 2>/dev/null
$SHMQ rm "$from" "$to" > /dev/null 2>&1
ok $([ -z "$($SHMQ ls 2>/dev/null | grep -e "$from" -e "$to")" ]; echo $?) "nothing is left behind"
done_testing
