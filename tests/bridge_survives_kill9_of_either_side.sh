# shmq bridge between two IPC namespaces ("hosts"), while kill -9 takes
# the exporter, the importer or both, round after round, each restarted
# by a loop (after different pauses, so in either order).  The imported
# topic is persistent, so a restarted importer goes on with its numbers,
# and three subscribers on host B resume after each importer death from
# the seq after their last (sub --from).  Afterwards each subscriber's
# output is strictly increasing, each line is the origin's line of that
# seq, every seq it did not get is in exactly one "lost N messages (seq
# A..B)" line of its own, with N exact, and it reached the end of the
# stream; nothing is left in either namespace.
. tests/lib/tap.sh
need_bridge
need_ipc_namespaces
tmp=$(mktemp -d /tmp/shmq-kill9.XXXXXX)
trap 'touch "$tmp/stop"; kill $pa $pb 2>/dev/null; kill -9 $(cat "$tmp"/*.pid 2>/dev/null) 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$tmp"' EXIT
N=40000
S=$(cd "$(dirname "$SHMQ")" && pwd)/$(basename "$SHMQ")

# Host A: the exporter, restarted whenever it dies, and the publisher:
# N lines (line L is seq L-1) at about 10k a second; the last 1,000 wait
# for "final", when the killing is over.
cat > "$tmp/hostA.sh" <<EOF
(
	ep='tcp://127.0.0.1:*'
	while [ ! -e "$tmp/stop" ]; do
		$S bridge -v feed "\$ep" 2>> "$tmp/exp.err" & echo \$! > "$tmp/exp.pid"
		wait \$!
		[ -s "$tmp/port" ] && ep="tcp://127.0.0.1:\$(cat "$tmp/port")"
		sleep 0.1
	done
) &
i=0
until grep -q '^shmq: bridge: bound ' "$tmp/exp.err" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt 500 ] && exit 3; sleep 0.02
done
sed -n '1s/^shmq: bridge: bound tcp:\/\/127.0.0.1://p' "$tmp/exp.err" > "$tmp/port"
i=0
until [ -e "$tmp/B-ready" ]; do i=\$((i + 1)); [ \$i -gt 3000 ] && exit 4; sleep 0.02; done
{
	i=1
	while [ \$i -le $((N - 1000)) ]; do
		seq \$i \$((i + 49)); i=\$((i + 50)); sleep 0.005
	done
	until [ -e "$tmp/final" ]; do sleep 0.02; done
	seq \$i $N
} | $S pub feed; echo \$? > "$tmp/pub.st"
until [ -e "$tmp/stop" ]; do sleep 0.05; done
kill \$(cat "$tmp/exp.pid") 2>/dev/null
sleep 0.3
ipcs -m | grep -c '^0x' > "$tmp/A.left"
exit 0
EOF

# Host B: the importer, restarted until it ends with the stream (exit 0);
# three subscribers, each restarted from the seq after its last (with the
# importer's geometry and lifetime: whoever comes first creates the topic).
cat > "$tmp/hostB.sh" <<EOF
i=0
until [ -s "$tmp/port" ]; do i=\$((i + 1)); [ \$i -gt 1000 ] && exit 3; sleep 0.02; done
port=\$(cat "$tmp/port")
(
	while [ ! -e "$tmp/stop" ]; do
		$S bridge -v --persistent --slots 65536 --slot-size 64 \\
			tcp://127.0.0.1:\$port imported 2>> "$tmp/imp.err" & echo \$! > "$tmp/imp.pid"
		wait \$!; st=\$?
		echo "exit \$st" >> "$tmp/imp.err"
		[ \$st = 0 ] && break
		sleep 0.05
	done
) &
for k in 1 2 3; do
	(
		from=""
		while [ ! -e "$tmp/stop" ]; do
			echo "--- run" >> "$tmp/sub\$k.err"
			$S sub --seq --persistent --slots 65536 --slot-size 64 \$from imported \\
				>> "$tmp/sub\$k" 2>> "$tmp/sub\$k.err"
			st=\$?
			[ \$st = 0 ] && break
			last=\$(tail -n 1 "$tmp/sub\$k" | cut -f1)
			[ -n "\$last" ] && from="--from \$((last + 1))"
			sleep 0.02
		done
		echo \$st > "$tmp/sub\$k.st"
	) &
done
i=0
until [ "\$($S stat imported 2>/dev/null | grep -c ' alive  *lossless')" = 3 ]; do
	i=\$((i + 1)); [ \$i -gt 1000 ] && exit 4; sleep 0.02
done
: > "$tmp/B-ready"
until [ -e "$tmp/stop" ]; do sleep 0.05; done
kill \$(cat "$tmp/imp.pid") 2>/dev/null
sleep 0.3
$S rm imported > /dev/null 2>&1
ipcs -m | grep -c '^0x' > "$tmp/B.left"
exit 0
EOF
unshare --ipc sh "$tmp/hostA.sh" & pa=$!
unshare --ipc sh "$tmp/hostB.sh" & pb=$!

i=0
until [ -e "$tmp/B-ready" ]; do i=$((i + 1)); [ $i -gt 1500 ] && break; sleep 0.02; done
sleep 0.3
# Six rounds: the exporter, the importer, both; twice.
kills=0
for who in exp imp both exp both imp; do
	case $who in
	exp)	kill -9 $(cat "$tmp/exp.pid") && kills=$((kills + 1)) ;;
	imp)	kill -9 $(cat "$tmp/imp.pid") && kills=$((kills + 1)) ;;
	both)	kill -9 $(cat "$tmp/imp.pid") $(cat "$tmp/exp.pid") && kills=$((kills + 2)) ;;
	esac
	sleep 0.4
done
sleep 0.5
: > "$tmp/final"
# The end: every subscriber done (or 60 s).
i=0
until [ -e "$tmp/sub1.st" ] && [ -e "$tmp/sub2.st" ] && [ -e "$tmp/sub3.st" ]; do
	i=$((i + 1)); [ $i -gt 3000 ] && break; sleep 0.02
done
: > "$tmp/stop"
wait $pa; sa=$?
wait $pb; sb=$?
is "$sa.$sb" "0.0" "both hosts' scripts ran to their end"
is "$kills" 8 "8 processes killed with -9 in 6 rounds"
is "$(grep -c '^exit' "$tmp/imp.err")" 5 "  the importer was restarted 4 times and then ended with the stream"
is "$(cat "$tmp/pub.st")" 0 "the origin's publisher published all $N lines"
for k in 1 2 3; do
	r=$(awk -F'\t' -v errs="$tmp/sub$k.err" -v n=$N '
		BEGIN {
			while ((getline l < errs) > 0)
				if (match(l, /lost [0-9]+ messages? \(seq [0-9]+\.\.[0-9]+\)/)) {
					split(substr(l, RSTART, RLENGTH), w, /[ .()]+/)
					c = w[2]; a = w[5]; b = w[6]
					if (b - a + 1 != c) bad = bad " count " a
					for (s = a; s <= b; s++) { if (s in lost) bad = bad " twice " s; lost[s] = 1 }
					nlost += c
				}
		}
		{
			if (NR > 1 && $1 <= last) bad = bad " order " $1
			if ($2 != $1 + 1) bad = bad " line " $1
			if ($1 in lost) bad = bad " lost-but-got " $1
			if (NR == 1) first = $1
			last = $1; got++
		}
		END {
			miss = last - first + 1 - got
			print got, nlost, miss, first, last, (bad == "" ? "ok" : substr(bad, 1, 80))
		}' "$tmp/sub$k")
	set -- $r
	is "$6" "ok" "subscriber $k: strictly increasing, each line its seq's, nothing reported lost received"
	is "$2" "$3" "  every seq it missed ($3) is in its own loss lines, exactly ($2)"
	is "$5.$(cat "$tmp/sub$k.st")" "$((N - 1)).0" "  and it reached the last seq ($5) and the end ($1 lines received)"
done
like "$(cat "$tmp/imp.err")" "lost [0-9]* messages" "the importer reported the gaps"
is "$(cat "$tmp/A.left" "$tmp/B.left" 2>/dev/null | tr '\n' ' ')" "0 0 " \
	"nothing is left in either namespace"
done_testing
