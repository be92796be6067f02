# Every command: --help to stdout with status 0, --version, and usage
# errors on stderr with status 2.
. tests/lib/tap.sh

out=$($SHMQ --help 2>/dev/null); st=$?
is "$st" 0 "shmq --help exits 0"
like "$out" "Commands:" "  and prints the commands on stdout"

for c in ls stat rm create; do
	out=$($SHMQ $c --help 2>/tmp/err.$$); st=$?
	is "$st" 0 "shmq $c --help exits 0"
	like "$out" "Usage: shmq $c" "  prints its usage on stdout"
	is "$(cat /tmp/err.$$)" "" "  and nothing on stderr"
	out=$($SHMQ $c --version); st=$?
	is "$st" 0 "shmq $c --version exits 0"
	like "$out" "^shmq [0-9]" "  and prints the version"
done
rm -f /tmp/err.$$

check_usage() {	# check_usage DESCRIPTION ARGS...
	d=$1; shift
	out=$($SHMQ "$@" 2>/tmp/err.$$); st=$?
	is "$st" 2 "$d: exit 2"
	is "$out" "" "  nothing on stdout"
	is "$(wc -l < /tmp/err.$$ | tr -d ' ')" 1 "  one line on stderr"
	like "$(cat /tmp/err.$$)" "try 'shmq" "  with a hint"
	rm -f /tmp/err.$$
}
check_usage "no command" 
check_usage "an unknown command" frobnicate
check_usage "ls with an argument" ls extra
check_usage "ls with an unknown option" ls --bogus
check_usage "rm with no address" rm
check_usage "stat with two addresses" stat a b
check_usage "create without --size" create x
check_usage "create with a bad size" create x --size lots
check_usage "create with a bad mode" create x --size 4K --mode 0999
check_usage "create by id" create id:5 --size 4K
check_usage "send -0 --raw" send -0 --raw x
check_usage "pong --classic --hub" pong --classic --hub
check_usage "ping --classic --capacity" ping --classic --capacity 4K
check_usage "pong --classic --persistent" pong --classic --persistent
check_usage "ping --classic --spin" ping --classic --spin
check_usage "recv --hub --connect" recv --hub --connect x
check_usage "pong --hub --connect" pong --hub --connect x
check_usage "pong --hub --persistent" pong --hub --persistent x
check_usage "send --connect --persistent" send --connect --persistent x

out=$($SHMQ stat 'no such:thing' 2>&1); st=$?
is "$st" 2 "an invalid address is a usage error: exit 2"
like "$out" "expected NAME, ftok:PATH:PROJ" "  the message lists the valid forms"
N=$(printf '%064d' 0 | tr 0 a)
$SHMQ send "$N" x > /dev/null 2>&1; is "$?" 2 "a 64-character name is a usage error too"
is "$(printf '%s\n' "$out" | grep -o "no such:thing" | wc -l | tr -d ' ')" 1 "  and names the address once"

# Output that cannot be written is a failure, said once, never a silent 0.
if [ -w /dev/full ]; then
	for args in "--help" "ls" "ping --help" "--version"; do
		out=$($SHMQ $args 2>&1 >/dev/full); st=$?
		is "$st" 1 "shmq $args >/dev/full: exit 1"
		like "$out" "cannot write to standard output: No space left on device" "  saying why"
	done
	# A command that already reported its write error says it once.
	q=$(tname full)
	(seq 5 | $SHMQ send "$q" --timeout 5s >/dev/null 2>&1 &)
	out=$($SHMQ recv "$q" --timeout 5s 2>&1 >/dev/full); st=$?
	is "$st" 1 "recv >/dev/full: exit 1"
	is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1 "  one line: $out"
else
	skip "no /dev/full"
fi
done_testing
