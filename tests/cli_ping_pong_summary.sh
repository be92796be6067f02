# ping and pong: per-round lines with an interval, a sane summary always,
# the conversation form, checked answers, and the ends of a ping.
. tests/lib/tap.sh
T="timeout -k 5 60"
q=$(tname pp)
$T $SHMQ pong "$q" & p=$!
out=$($T $SHMQ ping "$q" -c 2000 -s 100 -i 0); st=$?
wait $p; ps=$?
is "$st" 0 "ping -c 2000 -s 100 -i 0: exit 0"
is "$ps" 0 "pong: exit 0 when the pinger closes"
like "$out" "^2000 round trips of 100 bytes in [0-9.]* s: [0-9]* round trips/s" "the summary counts, sizes and rates"
rtt=$(printf '%s\n' "$out" | sed -n 's|^rtt min/p50/p99/p99.9/max = \(.*\) us$|\1|p')
ok $(echo "$rtt" | awk -F/ '{ exit !($1 > 0 && $1 <= $2 && $2 <= $3 && $3 <= $4 && $4 <= $5) }'; echo $?) \
	"min <= p50 <= p99 <= p99.9 <= max, all positive ($rtt)"

q=$(tname pp)
$T $SHMQ pong "$q" --block &
out=$($T $SHMQ ping "$q" -c 3 -i 20ms --block)
wait
is "$(printf '%s\n' "$out" | grep -c "^64 bytes from $q: seq=[123] time=[0-9.]* us$")" 3 \
	"with an interval: one line per round, like ping(8)"
like "$out" "^PING $q: 64 bytes" "  after a PING header"
like "$out" "^3 round trips of 64 bytes" "  and the summary"

q=$(tname pp)
$T $SHMQ pong "$q" --spin &
out=$($T $SHMQ ping "$q" --text -c 50 -i 0 --show 2 --spin)
wait
like "$out" "^round 1: sent 'ping', received 'pong'" "--text --show: the conversation, round by round"
like "$out" "^\.\.\. 48 more rounds" "  then a count of the rest"

q=$(tname pp)
out=$($T $SHMQ ping "$q" -c 1 --timeout 200ms 2>&1); st=$?
is "$st" 1 "ping with nobody answering: exit 1"
like "$out" "no peer arrived within 0.2 s" "  saying so"

q=$(tname pp)
$SHMQ pong "$q" & p=$!
$T $SHMQ ping "$q" -i 10ms > "/tmp/$(tname out)" 2> "/tmp/$(tname err)" & g=$!
# Once a round has been answered, the two have met.
for i in $(seq 1 400); do grep -q "bytes from" "/tmp/$(tname out)" 2>/dev/null && break; sleep 0.05; done
kill -9 $p
wait $g; st=$?
is "$st" 1 "pong killed during a ping: ping exits 1"
like "$(cat "/tmp/$(tname err)")" "the peer died" "  saying the peer died"
rm -f "/tmp/$(tname err)" "/tmp/$(tname out)"

# -w: stop after a time, whatever the count (as ping(8) -w), with the summary.
w=$(tname pw)
$SHMQ pong "$w" & p=$!
start=$(date +%s%N)
out=$($T $SHMQ ping "$w" -c 1000000000 -i 0 -q -w 300ms 2>&1); st=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
wait $p
is "$st" 0 "ping -w 300ms with a huge count: exit 0"
like "$out" "round trips of 64 bytes in 0.3" "  the summary of the rounds made in 0.3 s"
ok $([ "$took" -lt 30000 ]; echo $?) "  it stopped, far short of the count (${took} ms)"
$SHMQ ping --classic -w 1s > /dev/null 2>&1; is "$?" 2 "-w with --classic is a usage error"
done_testing
