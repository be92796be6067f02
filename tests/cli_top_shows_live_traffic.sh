# shmq top --once --json, against live objects: a pair whose ping is paced
# (its rates within 20% of what the ping's own summary says it sent), a hub
# with three clients (each client's channel under it, with its pid), and a
# topic (its publisher and subscriber); every name found as created.
. tests/lib/tap.sh
command -v perl >/dev/null || { echo "1..0 # SKIP perl is needed to read the JSON"; exit 0; }
T="timeout -k 5 60"
tmp=$(mktemp -d /tmp/shmq-top.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pair=$(tname toppair) hub=$(tname tophub) top=$(tname toptopic)
# jq-less JSON: perl's core JSON::PP; prints what the expression says.
# Start a command in the background under a timeout; its own pid in \$bgpid.
nbg=0
bg() {
	nbg=$((nbg + 1)); f="$tmp/pid.$nbg"
	timeout -k 5 60 sh -c 'echo $$ > "$0"; exec "$@"' "$f" "$@" > /dev/null 2>&1 &
	for i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.02; done
	bgpid=$(cat "$f")
}
q() { perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); my @o = @{$d->{objects}}; '"$1" < "$tmp/top.json"; }

bg $SHMQ pong "$pair"; pong=$bgpid
$T sh -c 'echo $$ > "$0"; exec "$@"' "$tmp/ping.pid" $SHMQ ping "$pair" -s 100 -i 10ms -w 4s -q > "$tmp/ping" 2>&1 &
pingjob=$!
for i in $(seq 1 100); do [ -s "$tmp/ping.pid" ] && break; sleep 0.02; done
ping=$(cat "$tmp/ping.pid")
bg $SHMQ pong --hub "$hub"; hpong=$bgpid
cl=""
for i in 1 2 3; do bg $SHMQ ping --connect "$hub" -i 20ms -w 4s -q; cl="$cl $bgpid"; done
(for i in $(seq 1 150); do echo "m$i"; sleep 0.02; done) |
	$T sh -c 'echo $$ > "$0"; exec "$@"' "$tmp/pub.pid" $SHMQ pub "$top" --subscribers 1 > /dev/null 2>&1 &
bg $SHMQ sub "$top"; sub=$bgpid
for i in $(seq 1 100); do [ -s "$tmp/pub.pid" ] && break; sleep 0.02; done
pub=$(cat "$tmp/pub.pid")
sleep 1.2
$SHMQ top --once --json -d 1 > "$tmp/top.json"; st=$?
is "$st" 0 "top --once --json: exit 0"
out=$($SHMQ top -n 1 -d 200ms); st=$?
is "$st" 0 "top -n 1 as text: exit 0"
like "$out" "^channel *$pair" "  a row for the pair, by its name"
wait $pingjob
rate=$(sed -n 's/^\([0-9]*\) round trips of 100 bytes in \([0-9.]*\) s.*/\1 \2/p' "$tmp/ping" | awk '{ printf "%.0f", $1 / $2 * 112 }')
got=$(q 'for (@o) { printf "%.0f %.0f\n", $_->{bytes_per_s_0to1}, $_->{bytes_per_s_1to0} if $_->{name} eq "'"$pair"'" }')
diag "the pair: top saw $got ring bytes/s each way; ping's summary says $rate"
ok $(echo "$got $rate" | awk '{ exit !($3 > 0 && $1 > 0.8 * $3 && $1 < 1.2 * $3 && $2 > 0.8 * $3 && $2 < 1.2 * $3) }'; echo $?) \
	"  both directions within 20% of what the paced ping sent (8 + 104 bytes a message)"
is "$(q 'for (@o) { print $_->{ends}[1]{pid} if $_->{name} eq "'"$pair"'" }')" "$ping" "  its end 1 is the ping's pid"
is "$(q 'for (@o) { print $_->{clients} if $_->{name} eq "'"$hub"'" }')" 3 "the hub: 3 clients"
pids=$(q 'for (@o) { next unless $_->{name} eq "'"$hub"'"; print join(" ", sort map { $_->{ends}[1]{pid} } @{$_->{client_channels}}) }')
is "$pids" "$(echo $cl | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" "  each client's channel, under it, with the client's pid"
is "$(q 'for (@o) { print $_->{kind}, " ", $_->{subscribers}, " ", $_->{ends}[0]{pid} if $_->{name} eq "'"$top"'" }')" "topic 1 $pub" \
	"the topic: its one subscriber and its publisher's pid"
ok $(q 'for (@o) { exit !($_->{messages_per_s} > 0) if $_->{name} eq "'"$top"'" } exit 1'; echo $?) "  and a rate of messages"
kill $cl $hpong $pong $pub $sub 2>/dev/null
sleep 0.3; wait 2>/dev/null
$SHMQ top --once -d 0 > /dev/null 2>&1; is "$?" 2 "a delay under 10 ms is a usage error"
done_testing
