# shmq bridge --follow: at the end of the origin's stream both bridges
# carry the end (the imported topic's subscriber sees it and exits 0),
# then wait for the topic's next publisher instead of exiting, and carry
# its stream too: a new topic numbered from 0, and a persistent one whose
# next publisher goes on with the numbers.  (One IPC namespace: the origin
# and the imported topic have different names.)
. tests/lib/tap.sh
need_bridge
tmp=$(mktemp -d /tmp/shmq-follow.XXXXXX)
src=$(tname fsrc) dst=$(tname fdst)
trap 'kill $e $m 2>/dev/null; $SHMQ rm "$src" "$dst" > /dev/null 2>&1; rm -rf "$tmp"' EXIT

# bridges [--persistent]: an exporter of $src and an importer into $dst.
bridges() {
	: > "$tmp/exp.err"; : > "$tmp/imp.err"
	$SHMQ bridge -v --follow "$@" "$src" 'tcp://127.0.0.1:*' 2> "$tmp/exp.err" & e=$!
	waitfor grep -q 'bound' "$tmp/exp.err"
	port=$(sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/exp.err")
	$SHMQ bridge -v --follow "tcp://127.0.0.1:$port" "$dst" 2> "$tmp/imp.err" & m=$!
	waitfor grep -q 'an importer subscribed' "$tmp/exp.err"
}
# round N LINE...: a subscriber of the imported topic, then the lines.
round() {
	timeout -k 5 30 $SHMQ sub --seq "$dst" > "$tmp/got$1" 2> "$tmp/sub$1.err" &
	sp=$!
	waitfor sh -c "$SHMQ stat '$dst' 2>/dev/null | grep -q ' alive  *lossless'"
	shift
	printf '%s\n' "$@" | timeout -k 5 30 $SHMQ pub --subscribers 1 --timeout 20s "$src"
	wait $sp
	echo $? > "$tmp/sub.st"
}
# stop: Ctrl-C to both bridges, which must end at once.
stop() {
	t0=$(now_ms)
	kill -INT $e $m
	wait $e; se=$?
	wait $m; sm=$?
	is "$se.$sm" "130.130" "  Ctrl-C ends both while they wait ($(( $(now_ms) - t0 )) ms)"
	# The topic the exporter subscribed to last, for no publisher yet.
	$SHMQ rm "$src" > /dev/null 2>&1
}

bridges
round 1 a b c
is "$(cat "$tmp/sub.st") $(cat "$tmp/got1" | tr '\t\n' ': ')" "0 0:a 1:b 2:c " \
	"the first stream crosses with its numbers, and its end (the subscriber exits 0)"
ok $(kill -0 $e 2>/dev/null && kill -0 $m 2>/dev/null; echo $?) "  and both bridges wait on"
round 2 d e
is "$(cat "$tmp/sub.st") $(cat "$tmp/got2" | tr '\t\n' ': ')" "0 0:d 1:e " \
	"the next publisher's stream, a new topic numbered from 0, crosses too"
like "$(cat "$tmp/exp.err")" "waiting for the topic's next publisher" "the exporter says it waits"
like "$(cat "$tmp/imp.err")" "the origin's stream ended; waiting for its next" "the importer says it waits"
stop

# A persistent origin (the exporter, subscribing first, makes it so).
bridges --persistent
round 3 f g
round 4 h i
is "$(cat "$tmp/sub.st") $(cat "$tmp/got3" "$tmp/got4" | tr '\t\n' ': ')" "0 0:f 1:g 2:h 3:i " \
	"a persistent origin's next publisher goes on with the numbers, and they cross as they are"
stop
is "$(cat "$tmp"/sub*.err)" "" "no subscriber lost anything"
$SHMQ rm "$src" > /dev/null 2>&1
ok $([ -z "$($SHMQ ls 2>/dev/null | grep -e "$src" -e "$dst")" ]; echo $?) "nothing is left behind"
done_testing
