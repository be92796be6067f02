# shmq pong --hub serves many pings at once, each on a channel of its own;
# ls and stat know a hub; a client started before its server waits for it
# with --connect; Ctrl-C ends the server and its clients cleanly; a server
# killed with SIGKILL leaves a stale hub that clients are refused by and
# `shmq clean` removes.
. tests/lib/tap.sh
T="timeout -k 5 60"
name=$(tname hub)
tmp=$(mktemp -d /tmp/shmq-hub.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

serving() {	# wait until the hub at $1 is up
	for i in $(seq 1 200); do
		$SHMQ stat "$1" 2>/dev/null | grep -q "^server .*(alive)" && return 0
		sleep 0.05
	done
	return 1
}

# A client that starts first, waiting for the server.
$T $SHMQ ping --connect "$name" -c 50 -i 0 -q > "$tmp/early" 2>&1 &
early=$!
sleep 0.2
$SHMQ pong --timeout 60s --hub -v "$name" > "$tmp/pong" 2>&1 &
pong=$!
serving "$name"; ok $? "pong --hub serves at $name"
like "$($SHMQ ls)" "hub '$name', serving" "ls shows the hub"
out=$($SHMQ stat "$name")
like "$out" "^server *pid $pong (alive)" "stat names the server"
like "$out" "^clients *each on its own channel: 64.0 KiB to the client" "stat: the clients' rings"
like "$($SHMQ stat "$name" --json)" '"kind":"hub"' "stat --json: the kind"
wait $early; is "$?" 0 "a ping started before the server (--connect) waited and finished"
like "$(cat "$tmp/early")" "^50 round trips" "  with its 50 round trips"

# Four pings at once, found without --connect.
for i in 1 2 3 4; do
	$T $SHMQ ping "$name" -c 3000 -s 200 -i 0 -q > "$tmp/ping$i" 2>&1 &
	eval p$i=$!
done
all=0
for i in 1 2 3 4; do
	eval wait \$p$i || all=1
	grep -q "^3000 round trips of 200 bytes" "$tmp/ping$i" || all=1
done
ok $all "four pings at once each got 3000 answers"
like "$(printf 'a\nb\nc\n' | $T $SHMQ send "$name"; echo "status $?")" "status 0" \
	"shmq send talks to the hub too"

for i in $(seq 1 200); do
	[ "$(grep -c ': closed$' "$tmp/pong")" -ge 6 ] && break
	sleep 0.05
done
kill -INT $pong; wait $pong; st=$?
is "$st" 130 "Ctrl-C ends the server (status 130)"
# 50 + 4 x 3000 pings, each ping's untimed first round, and send's 3 lines
# unless it had closed (no one would read the answers).
like "$(cat "$tmp/pong")" "answered 1205[5-8] messages from 6 clients" \
	"  having answered every ping of every client"
$SHMQ stat "$name" >/dev/null 2>&1; is "$?" 1 "  and removed the hub"

# recv --hub collects whole messages from many senders at once.
$SHMQ recv --hub "$name" -n 300 --timeout 30s > "$tmp/got" 2> "$tmp/recv.err" &
recv=$!
serving "$name"
for i in 1 2 3; do
	seq -f "s$i-%g" 1 100 | $T $SHMQ send "$name" &
	eval s$i=$!
done
all=0
for i in 1 2 3; do eval wait \$s$i || all=1; done
wait $recv; st=$?
is "$st$all" "00" "recv --hub took 300 messages from three senders at once (status 0)"
for i in 1 2 3; do
	[ "$(grep "^s$i-" "$tmp/got" | tr '\n' ' ')" = "$(seq -f "s$i-%g" 1 100 | tr '\n' ' ')" ] || all=1
done
is "$(wc -l < "$tmp/got" | tr -d ' ')$all" "3000" "  every line whole, each sender's in its order"
$SHMQ recv --hub --raw "$name" 2>/dev/null; is "$?" 2 "recv --hub --raw is a usage error"

# A server killed outright leaves a stale hub: refused, then cleaned.
$SHMQ pong --timeout 60s --hub "$name" > /dev/null 2>&1 &
pong=$!
serving "$name"
kill -9 $pong; wait $pong 2>/dev/null
like "$($SHMQ ls)" "hub '$name', stale: its server died" "a killed server's hub is stale"
out=$($T $SHMQ ping "$name" -c 1 2>&1); st=$?
is "$st" 1 "a ping to it fails"
like "$out" "server is gone" "  saying the server is gone: $out"
like "$($SHMQ clean)" "removed id:.*'$name'" "shmq clean removes it"
$SHMQ pong --timeout 60s --hub "$name" > /dev/null 2>&1 &
pong=$!
serving "$name"; ok $? "a new server can take the address (after a kill -9 too)"
kill -9 $pong; wait $pong 2>/dev/null
$SHMQ pong --timeout 60s --hub "$name" > /dev/null 2>&1 &
pong=$!
serving "$name"; ok $? "  even without a clean"
kill -INT $pong; wait $pong 2>/dev/null
done_testing
