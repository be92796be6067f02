# shmq bridge carries a topic between two System V IPC namespaces, two
# "hosts" joined by loopback TCP: 200,000 lines published on host A reach
# 3 lossless subscribers on host B exactly, in order, with the origin's
# sequence numbers (they begin at 1000 there: 1000 lines went before the
# export began); the publisher's
# close ends the stream there and every process exits 0; nothing is left
# in either namespace.  And the command's refusals: a bind beyond this
# host without --insecure, usage errors.
. tests/lib/tap.sh
need_bridge
need_ipc_namespaces
tmp=$(mktemp -d /tmp/shmq-bridge.XXXXXX)
trap 'kill $pa $pb 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$tmp"' EXIT
N=200000
S=$(cd "$(dirname "$SHMQ")" && pwd)/$(basename "$SHMQ")
T="timeout -k 5 120"

# Host A: the exporter (its port goes to $tmp/port), then, once host B is
# ready, the publisher.
cat > "$tmp/hostA.sh" <<EOF
$T $S bridge -v feed 'tcp://127.0.0.1:*' 2> "$tmp/exp.err" & e=\$!
i=0
until grep -q '^shmq: bridge: bound ' "$tmp/exp.err" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt 500 ] && exit 3; sleep 0.02
done
sed -n 's/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/exp.err" > "$tmp/port"
# 1000 lines nobody reads, then, once host B is ready and the exporter
# has subscribed, the $N that count.
{
	seq 1 1000
	i=0
	until [ -e "$tmp/B-ready" ] && $S stat feed 2>/dev/null | grep -q ' alive  *lossless'; do
		i=\$((i + 1)); [ \$i -gt 3000 ] && exit 4; sleep 0.02
	done
	seq 1 $N
} | $T $S pub feed; echo \$? > "$tmp/pub.st"
wait \$e; echo \$? > "$tmp/exp.st"
ipcs -m | grep -c '^0x' > "$tmp/A.left"
exit 0
EOF
# Host B: the importer, three subscribers, then "ready".
cat > "$tmp/hostB.sh" <<EOF
i=0
until [ -s "$tmp/port" ]; do i=\$((i + 1)); [ \$i -gt 1000 ] && exit 3; sleep 0.02; done
$T $S bridge -v tcp://127.0.0.1:\$(cat "$tmp/port") feed 2> "$tmp/imp.err" & m=\$!
for k in 1 2; do
	$T $S sub feed > "$tmp/sub\$k" 2> "$tmp/sub\$k.err" & eval s\$k=\\\$!
done
$T $S sub --seq feed > "$tmp/sub3.seq" 2> "$tmp/sub3.err" & s3=\$!
i=0
until [ "\$($S stat feed 2>/dev/null | grep -c ' alive  *lossless')" = 3 ]; do
	i=\$((i + 1)); [ \$i -gt 1000 ] && exit 4; sleep 0.02
done
: > "$tmp/B-ready"
$S stat feed > "$tmp/B.stat" 2>&1
wait \$s1; echo \$? > "$tmp/sub1.st"
wait \$s2; echo \$? > "$tmp/sub2.st"
wait \$s3; echo \$? > "$tmp/sub3.st"
wait \$m; echo \$? > "$tmp/imp.st"
ipcs -m | grep -c '^0x' > "$tmp/B.left"
exit 0
EOF
unshare --ipc sh "$tmp/hostA.sh" & pa=$!
unshare --ipc sh "$tmp/hostB.sh" & pb=$!
wait $pa; sa=$?
wait $pb; sb=$?
is "$sa.$sb" "0.0" "both hosts' scripts ran to their end"
is "$(cat "$tmp/pub.st" "$tmp/exp.st" "$tmp/imp.st" 2>/dev/null | tr '\n' ' ')" "0 0 0 " \
	"the publisher, the exporter and the importer exit 0 at the end of the stream"
seq 1 $N > "$tmp/want"
cut -f2 "$tmp/sub3.seq" > "$tmp/sub3"
for k in 1 2 3; do
	cmp -s "$tmp/want" "$tmp/sub$k"
	ok $? "subscriber $k on host B got all $N lines, in order, and the end ($(wc -l < "$tmp/sub$k") lines)"
done
is "$(cat "$tmp/sub1.st" "$tmp/sub2.st" "$tmp/sub3.st" 2>/dev/null | tr '\n' ' ')" "0 0 0 " \
	"  and each exits 0"
is "$(awk -F'\t' '$1 != NR + 999 { bad++ } END { print NR + 0, bad + 0 }' "$tmp/sub3.seq")" "$N 0" \
	"  with the origin's sequence numbers, 1000 to $((N + 999)) (sub --seq)"
is "$(cat "$tmp"/sub*.err | grep -c lost)" 0 "  and no subscriber lost anything"
like "$(cat "$tmp/B.stat")" "running: .*shmq bridge -v tcp://127.0.0.1:[0-9]* feed" \
	"shmq stat of the imported topic names the bridge as its publisher, with the remote endpoint"
like "$(cat "$tmp/exp.err")" "an importer subscribed" "the exporter says when the importer subscribed"
like "$(cat "$tmp/exp.err")" "$N messages exported" "  and how many it exported"
is "$(grep -c 'lost' "$tmp/imp.err")" 0 "the importer reports no loss"
is "$(cat "$tmp/A.left" "$tmp/B.left" 2>/dev/null | tr '\n' ' ')" "0 0 " \
	"nothing is left in either namespace"

# The refusals.
out=$($SHMQ bridge feed 'tcp://*:5999' 2>&1); st=$?
is "$st" 1 "an exporter bound beyond this host without --insecure refuses to start"
like "$out" "without encryption" "  and says why"
out=$($SHMQ bridge feed other 2>&1); st=$?
is "$st" 2 "two topics: a usage error"
out=$($SHMQ bridge tcp://127.0.0.1:1 feed --lossy 2>&1); st=$?
is "$st" 2 "--lossy on an import: a usage error"
done_testing
