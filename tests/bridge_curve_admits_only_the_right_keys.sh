# shmq bridge with CURVE: keygen writes a pair (0600) and its public key,
# and never overwrites one; the right keys deliver every message; a wrong
# server key, no key, or a client key the exporter does not list deliver
# nothing, and both sides say why in one line (not one per reconnect); a
# secret key others can read is refused; an exporter with CURVE binds
# beyond loopback without --insecure.
. tests/lib/tap.sh
need_bridge
tmp=$(mktemp -d /tmp/shmq-curve.XXXXXX)
trap 'kill $ep $ip $sp 2>/dev/null; rm -rf "$tmp"' EXIT
src=$(tname csrc) dst=$(tname cdst)

$SHMQ bridge keygen "$tmp/server" > "$tmp/kg.out"; st=$?
$SHMQ bridge keygen "$tmp/client" > /dev/null
$SHMQ bridge keygen "$tmp/stranger" > /dev/null
is "$st" 0 "keygen FILE writes a key pair"
is "$(stat -c %a "$tmp/server") $(stat -c %a "$tmp/server.pub")" "600 644" \
	"  the pair mode 0600, the public key FILE.pub 0644"
like "$(cat "$tmp/server")" "^secret-key = .\{40\}$" "  the pair holds the secret key"
is "$(grep -c secret "$tmp/server.pub")" 0 "  and FILE.pub does not"
pub=$(sed -n 's/^public-key = //p' "$tmp/server.pub")
is "$(sed -n 's/.*its public key, //p' "$tmp/kg.out")" "$pub" "  it prints the public key"
cp "$tmp/server" "$tmp/before"
out=$($SHMQ bridge keygen "$tmp/server" 2>&1); st=$?
is "$st" 1 "keygen never overwrites a key"
cmp -s "$tmp/server" "$tmp/before"
ok $? "  the old pair is untouched"
like "$out" "never overwrites" "  and says so"

# One round: an exporter with --curve-secret and --curve-clients (the
# client's key), an importer with $@, a subscriber, 20 lines published.
round() {
	: > "$tmp/exp.err"; : > "$tmp/imp.err"; : > "$tmp/got"
	$SHMQ bridge -v --curve-secret "$tmp/server" \
		--curve-clients "$tmp/client.pub" "$src" 'tcp://127.0.0.1:*' 2> "$tmp/exp.err" &
	ep=$!
	i=0
	until grep -q 'bound' "$tmp/exp.err"; do i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02; done
	port=$(sed -n 's/.*bound tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/exp.err")
	$SHMQ bridge "$@" "tcp://127.0.0.1:$port" "$dst" 2> "$tmp/imp.err" &
	ip=$!
	i=0
	until $SHMQ stat "$dst" > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02; done
	$SHMQ sub "$dst" > "$tmp/got" 2>/dev/null &
	sp=$!
	sleep 1.5	# some reconnects, refused or not
	seq 1 20 | timeout -k 5 30 $SHMQ pub "$src"
	sleep 0.5
	kill $ep $ip $sp 2>/dev/null
	wait $ep $ip $sp 2>/dev/null
	$SHMQ rm "$src" "$dst" > /dev/null 2>&1
}

round --curve-server-key "$tmp/server.pub" --curve-secret "$tmp/client"
is "$(cat "$tmp/got")" "$(seq 1 20)" "the right keys: every message crosses"
like "$(cat "$tmp/exp.err")" "handshake done, encrypted (CURVE)" "  encrypted, the exporter says"

round --curve-server-key "$tmp/stranger.pub" --curve-secret "$tmp/client"
is "$(wc -c < "$tmp/got")" 0 "a wrong server key: nothing crosses"
like "$(cat "$tmp/exp.err")" "refused a connection.*wrong --curve-server-key" "  the exporter says why"
like "$(cat "$tmp/imp.err")" "closed the connection during the handshake" "  the importer says so"
is "$(wc -l < "$tmp/imp.err")" 1 "  once, though it tried again and again"

round
is "$(wc -c < "$tmp/got")" 0 "no key at all: nothing crosses"
like "$(cat "$tmp/imp.err")" "uses CURVE: give its public key with --curve-server-key" "  the importer says what to do"
like "$(cat "$tmp/exp.err")" "refused a connection" "  the exporter says it refused"

round --curve-server-key "$tmp/server.pub" --curve-secret "$tmp/stranger"
is "$(wc -c < "$tmp/got")" 0 "a client key not in --curve-clients: nothing crosses"
is "$(sed -n 's/.*refused a client on .*: its key \(.*\) is not among.*/\1/p' "$tmp/exp.err" | sort -u)" \
	"$(sed -n 's/^public-key = //p' "$tmp/stranger.pub")" "  the exporter names the refused key"
like "$(cat "$tmp/imp.err")" "refused our key" "  the importer says its key was refused"

chmod 644 "$tmp/client"
out=$($SHMQ bridge --curve-server-key "$tmp/server.pub" --curve-secret "$tmp/client" \
	tcp://127.0.0.1:1 "$dst" 2>&1); st=$?
is "$st" 1 "a secret key others can read is refused"
like "$out" "chmod 600" "  with the fix"
out=$($SHMQ bridge --curve-server-key "$tmp/nonesuch" tcp://127.0.0.1:1 "$dst" 2>&1); st=$?
is "$st" 1 "a missing key file is refused"
out=$($SHMQ bridge --curve-server-key "$tmp/server.pub" "$src" tcp://127.0.0.1:1 2>&1); st=$?
is "$st" 1 "an exporter is the CURVE server: --curve-server-key there is refused"

# With CURVE an exporter may bind beyond loopback without --insecure.
$SHMQ bridge -v --curve-secret "$tmp/server" "$src" 'tcp://*:0' 2> "$tmp/any.err" &
ep=$!
i=0
until grep -q 'bound' "$tmp/any.err"; do i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.02; done
like "$(cat "$tmp/any.err")" "bound tcp://0.0.0.0:[0-9]*, encrypted (CURVE)" \
	"with --curve-secret, an exporter binds beyond loopback without --insecure"
kill $ep 2>/dev/null; wait $ep 2>/dev/null
$SHMQ rm "$src" "$dst" > /dev/null 2>&1
is "$($SHMQ ls 2>/dev/null | grep -c "'t-c\(src\|dst\)-$$'")" 0 "nothing is left behind"
done_testing
