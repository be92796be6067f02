# Hubs across hosts: on "host A" (an IPC namespace) shmq pong --hub svc
# and shmq bridge --hub svc; on "host B" shmq bridge --hub-client svc and
# five shmq ping --connect svc, each on a channel of its own, each echo
# checked by ping; and two shmq send --connect logs streaming 100,000
# lines each to shmq recv --hub logs on A, far more than the rings hold,
# every line arriving in order, each sender's end reaching the server.
# Then the ends: a ping killed with -9 on B is gone on A;
# the server's death on A ends a running ping on B (as a close: a hub
# cannot abandon its client's channel, so the death is not told apart
# there); the clients' bridge
# killed with -9 on B has its clients abandoned on A within 5 s of
# silence.  Nothing is left in either namespace.
. tests/lib/tap.sh
need_bridge
need_ipc_namespaces
tmp=$(mktemp -d /tmp/shmq-hubbridge.XXXXXX)
trap 'touch "$tmp/stop"; kill $pa $pb 2>/dev/null; kill -9 $(cat "$tmp"/*.pid 2>/dev/null) 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$tmp"' EXIT
S=$(cd "$(dirname "$SHMQ")" && pwd)/$(basename "$SHMQ")

cat > "$tmp/hostA.sh" <<EOF
$S pong --hub svc > /dev/null 2> "$tmp/pong.err" & echo \$! > "$tmp/pong.pid"
$S recv --hub logs > "$tmp/logs" 2> "$tmp/logs.err" & echo \$! > "$tmp/logs.pid"
sleep 0.2
$S bridge -v --hub svc 'tcp://127.0.0.1:*' 2> "$tmp/A.err" & echo \$! > "$tmp/A.pid"
$S bridge --hub logs 'tcp://127.0.0.1:*' -v 2> "$tmp/A2.err" & echo \$! > "$tmp/A2.pid"
until [ -e "$tmp/A-go" ] || [ -e "$tmp/stop" ]; do sleep 0.02; done
# The server dies; a new one comes for what follows.
kill -9 \$(cat "$tmp/pong.pid")
sleep 0.3
$S pong --hub svc > /dev/null 2>> "$tmp/pong.err" & echo \$! > "$tmp/pong.pid"
sleep 0.2
: > "$tmp/pong2"
until [ -e "$tmp/stop" ]; do sleep 0.05; done
kill \$(cat "$tmp/A.pid") \$(cat "$tmp/pong.pid") \$(cat "$tmp/A2.pid") \$(cat "$tmp/logs.pid")
wait
ipcs -m | grep -c '^0x' > "$tmp/A.left"
EOF
cat > "$tmp/hostB.sh" <<EOF
until [ -s "$tmp/port" ]; do sleep 0.02; done
$S bridge -v tcp://127.0.0.1:\$(cat "$tmp/port") --hub-client svc 2> "$tmp/B.err" &
echo \$! > "$tmp/B.pid"
$S bridge -v tcp://127.0.0.1:\$(cat "$tmp/port2") --hub-client logs 2> "$tmp/B2.err" &
echo \$! > "$tmp/B2.pid"
sleep 0.3
# Two senders streaming far more than the rings hold, then their ends.
for k in 1 2; do
	( seq 1 100000 | sed "s/^/\$k:/" | $S send --connect logs; echo \$? > "$tmp/send\$k.st" ) &
done
pids=
for i in 1 2 3 4 5; do
	( $S ping --connect svc -c 20 -i 5ms > "$tmp/ping\$i" 2>&1; echo \$? > "$tmp/ping\$i.st" ) &
	pids="\$pids \$!"
done
wait \$pids
# One killed with -9 while it runs.
$S ping --connect svc -c 100000 -i 10ms > /dev/null 2>&1 & echo \$! > "$tmp/victim.pid"
until [ -e "$tmp/B-go" ]; do sleep 0.02; done
# One running while the server dies on A.
$S ping --connect svc -c 100000 -i 10ms > "$tmp/orphan" 2>&1; echo \$? > "$tmp/orphan.st"
# One running while this side's bridge is killed with -9.
until [ -e "$tmp/pong2" ]; do sleep 0.02; done
$S ping --connect svc -c 100000 -i 10ms > "$tmp/cut" 2>&1 & echo \$! > "$tmp/cut.pid"
until [ -e "$tmp/stop" ]; do sleep 0.05; done
kill \$(cat "$tmp/cut.pid") \$(cat "$tmp/B2.pid") 2>/dev/null
sleep 0.3
# The killed bridge's hub is left for the next server, or clean.
$S clean > /dev/null 2>&1
ipcs -m | grep -c '^0x' > "$tmp/B.left"
EOF
unshare --ipc sh "$tmp/hostA.sh" & pa=$!
waitfor grep -q 'bound tcp' "$tmp/A.err" 2>/dev/null
sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/A.err" > "$tmp/port"
waitfor grep -q 'bound tcp' "$tmp/A2.err" 2>/dev/null
sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/A2.err" > "$tmp/port2"
unshare --ipc sh "$tmp/hostB.sh" & pb=$!

waitfor [ -s "$tmp/ping5.st" ] && waitfor [ -s "$tmp/ping1.st" ]
sleep 0.2
is "$(cat "$tmp"/ping[1-5].st | tr '\n' ' ')" "0 0 0 0 0 " \
	"five pings on host B, each answered 20 times by the pong on host A (every echo checked)"
like "$(cat "$tmp/ping3")" "20 round trips" "  each says 20 round trips"
is "$(grep -c 'client [0-9a-f]* connected' "$tmp/A.err")" 6 \
	"  each (and the one that follows) a client of its own of the real hub"
waitfor grep -q 'closed' "$tmp/A.err"
is "$(grep -c 'client [0-9a-f]* closed' "$tmp/A.err")" 5 "  and each one's close ends its channel there"

waitfor [ -s "$tmp/send2.st" ] && waitfor [ -s "$tmp/send1.st" ]
waitfor sh -c "[ \$(grep -c 'closed' '$tmp/A2.err') = 2 ]"
is "$(cat "$tmp/send1.st" "$tmp/send2.st" | tr '\n' ' ')" "0 0 " \
	"two remote senders stream 100,000 lines each into a hub's shmq recv --hub, far past its rings"
for k in 1 2; do
	is "$(grep "^$k:" "$tmp/logs" | cut -d: -f2 | awk 'NR != $1 { bad++ } END { print NR, bad + 0 }')" \
		"100000 0" "  sender $k: every line arrived, in order"
done
like "$(cat "$tmp/A2.err")" "closed: its server let it go" \
	"  each sender's end reached the server, which let it go"
waitfor sh -c "[ \$(grep -c 'the server let it go' '$tmp/B2.err') = 2 ]"
is "$(grep -c 'the server let it go' "$tmp/B2.err")" 2 \
	"  and the senders' side was told, and let both go there"
kill -9 $(cat "$tmp/victim.pid")
waitfor grep -q 'is gone' "$tmp/A.err"
like "$(cat "$tmp/A.err")" "client [0-9a-f]* is gone" "a ping killed with -9 on B is gone on A at once"

: > "$tmp/B-go"
sleep 0.5
: > "$tmp/A-go"
waitfor [ -s "$tmp/orphan.st" ]
is "$(cat "$tmp/orphan.st")" 1 "the server's death on A ends a running ping on B (exit 1)"
like "$(cat "$tmp/orphan")" "closed the channel" "  which says its channel was closed"

# The last ping connected on A (5 + the victim + the orphan + it = 8).
waitfor sh -c "[ \$(grep -c 'client [0-9a-f]* connected' '$tmp/A.err') -ge 8 ]"
sleep 0.3
kill -9 $(cat "$tmp/B.pid")
start=$(now_ms)
waitfor grep -q 'fell silent' "$tmp/A.err" || waitfor grep -q 'fell silent' "$tmp/A.err"
took=$(( $(now_ms) - start ))
ok $([ $took -lt 12000 ] && grep -q 'fell silent' "$tmp/A.err"; echo $?) \
	"the clients' bridge killed with -9: its client abandoned on A after its silence (${took} ms)"
: > "$tmp/stop"
wait $pa $pb
is "$(cat "$tmp/A.left" "$tmp/B.left" 2>/dev/null | tr '\n' ' ')" "0 0 " \
	"nothing is left in either namespace"
done_testing
