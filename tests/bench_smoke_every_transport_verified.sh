# shmq bench, tiny counts, every transport and mode: each measurement
# verified its messages (or was skipped with a reason, never failed), the
# JSON parses, the table has a row per transport.  Correctness only: no
# figure here is compared with anything.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
B="timeout -k 5 120 $SHMQ bench --count 200 --reps 2 --idle-seconds 50ms"

$B --mode all --json > "$tmp/all.json" 2> "$tmp/err"
is "$?" 0 "bench --mode all --json: exit 0 (no measurement failed)"
out=$(perl -MJSON::PP -e '
	local $/; my $d = decode_json(<STDIN>);
	my (%seen, @bad, $ok, $skip);
	for my $r (@{$d->{results}}) {
		$seen{$r->{transport}}++;
		if ($r->{status} eq "ok") {
			$ok++;
			push @bad, "$r->{transport}/$r->{mode}: nothing verified"
				unless $r->{messages_verified} > 0;
		} elsif ($r->{status} eq "skipped") {
			$skip++;
			push @bad, "$r->{transport}/$r->{mode}: skipped without a reason"
				unless length $r->{note};
		} else {
			push @bad, "$r->{transport}/$r->{mode}: $r->{status}: $r->{note}";
		}
	}
	print join(" ", sort keys %seen), "\n", ($ok // 0), " ok, ", ($skip // 0), " skipped\n";
	print "BAD: $_\n" for @bad;' < "$tmp/all.json")
is "$?" 0 "the JSON parses"
transports=$($SHMQ bench --list 2>/dev/null | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
missing=
for t in $transports; do
	printf '%s\n' "$out" | sed -n 1p | tr ' ' '\n' | grep -qx "$t" || missing="$missing $t"
done
is "$missing" "" "every transport --list names was measured ($transports)"
diag "$(printf '%s\n' "$out" | sed -n 2p)"
is "$(printf '%s\n' "$out" | grep -c '^BAD')" 0 "every measurement verified its messages, or says why it was skipped"
printf '%s\n' "$out" | grep '^BAD' | sed 's/^/# /'

$B --mode pingpong,stream --size 8,64K > "$tmp/table" 2>/dev/null
is "$?" 0 "the table form: exit 0"
missing=
for t in $transports; do
	grep -q "^$t " "$tmp/table" || missing="$missing $t"
done
is "$missing" "" "the table has a row for each transport"
like "$(cat "$tmp/table")" "^msgq .*skipped: messages over msgmax" \
	"a message queue over its size limit is skipped, saying why"
like "$(cat "$tmp/table")" "^Streaming, 64 KiB messages" "a table per mode and size"
like "$(cat "$tmp/table")" "^transport .*round trips/s .*min-max" "  each row with the spread of its repetitions"

$B -t shmq-hybrid,pipe --csv > "$tmp/csv" 2>/dev/null
is "$(head -1 "$tmp/csv" | cut -d, -f1-5)" "transport,kind,mode,size,status" "--csv has a header"
is "$(grep -c ',ok,' "$tmp/csv")" 4 "  and a row per measurement"
$B -t shmq-zc -m pingpong --save "$tmp/run" > /dev/null 2>&1
ok $([ -s "$tmp/run.json" ] && [ -s "$tmp/run.csv" ] && [ -s "$tmp/run.md" ]; echo $?) \
	"--save writes the JSON, the CSV and the Markdown of one run"
# Fan-out: one publisher, K subscribers, four ways, every message checked.
$SHMQ bench -m fanout -s 64 -k 1,3 -r 1 -c 3000 > "$tmp/fan" 2>&1; st=$?
is "$st" 0 "bench -m fanout: exit 0 (no wrong message)"
for t in topic topic-lossy chans pipes; do
	like "$(cat "$tmp/fan")" "^$t  *3 " "  a row for $t with 3 subscribers"
done
like "$(cat "$tmp/fan")" "K=1: topic streams" "  and the K = 1 comparison with a pair channel"
# A hub's idle clients against its active one, every echo checked.
$SHMQ bench -m hub -n 0,5 -r 1 -c 2000 > "$tmp/hub" 2>&1; st=$?
is "$st" 0 "bench -m hub: exit 0 (every echo right)"
like "$(cat "$tmp/hub")" "^ *5  *[0-9][0-9]* .*x$" "  a row for 5 idle clients, with its ratio to none"
out=$($SHMQ bench -m hub --idle x 2>&1); st=$?
is "$st" 2 "  a bad --idle is a usage error"
# A topic over two bridges against ZeroMQ alone, every message checked.
if $SHMQ bridge feed 'tcp://*:1' 2>&1 | grep -q 'built without ZeroMQ'; then
	skip "bench -m bridge: shmq was built without ZeroMQ (libzmq3-dev)"
else
	$SHMQ bench -m bridge -s 64 -r 1 -c 3000 > "$tmp/br" 2>&1; st=$?
	is "$st" 0 "bench -m bridge: exit 0 (every message arrived, in order, right)"
	like "$(cat "$tmp/br")" "^bridge  *64 " "  a row for the bridged path"
	like "$(cat "$tmp/br")" "^zmq  *64 " "  and one for ZeroMQ alone"
	like "$(cat "$tmp/br")" "64 B: the bridged path delivers [0-9.]*x ZeroMQ's" "  and their ratio"
fi
out=$($SHMQ bench --mode sideways 2>&1); st=$?
is "$st" 2 "an unknown mode is a usage error"
done_testing
