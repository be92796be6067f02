# `shmq ls` agrees with `ipcs -m` on every field they share, for every
# segment present: plain, attached, removed-but-attached.
. tests/lib/tap.sh
if ! command -v ipcs >/dev/null; then
	echo "1..0 # SKIP ipcs is not installed"; exit 0
fi
name=$(tname lsipcs)
trap '$SHMQ rm --force "$name-1" "$name-2" >/dev/null 2>&1' EXIT
hold=$BUILD/helpers/hold
$SHMQ create "$name-1" --size 4K --mode 0600 >/dev/null
$SHMQ create "$name-2" --size 1M --mode 0644 >/dev/null
id3=$($SHMQ create "$name-3" --size 100 --mode 0640 | sed -n 's/^created: id:\([0-9]*\).*/\1/p')
fifo=/tmp/shmq-lsipcs.$$
mkfifo $fifo
$hold $id3 < $fifo > $fifo.out &
hpid=$!
exec 9>$fifo
for i in $(seq 1 200); do grep -q held $fifo.out 2>/dev/null && break; sleep 0.05; done
$SHMQ rm --force "$name-3"

# One line per segment, in the same shape, from each tool.
from_ipcs=$(ipcs -m | awk 'NR > 3 && NF >= 6 {
	st = ""; for (i = 7; i <= NF; i++) st = st (st ? "," : "") $i
	printf "%s %s %s %s %s %s %s\n", $1, $2, $3, $4, $5, $6, st }' | sort)
from_ls=$($SHMQ ls --json | perl -MJSON::PP -e '
	local $/; my $a = decode_json(<STDIN>);
	for my $s (@$a) {
		my @st; push @st, "dest" if $s->{removed}; push @st, "locked" if $s->{locked};
		(my $mode = $s->{mode}) =~ s/^0+(?=.)//;
		printf "%s %s %s %s %s %s %s\n", $s->{key}, $s->{shmid}, $s->{owner},
			$mode, $s->{size}, $s->{nattch}, join(",", @st);
	}' | sort)
n=$(printf '%s\n' "$from_ipcs" | grep -c .)
ok $([ "$n" -ge 3 ]; echo $?) "ipcs shows at least our 3 segments ($n)"
is "$from_ls" "$from_ipcs" "ls --json agrees with ipcs -m on key, id, owner, perms, bytes, nattch, status"
like "$($SHMQ ls)" "removed, still attached" "ls says 'removed, still attached' in words"

exec 9>&-
wait $hpid
rm -f $fifo $fifo.out
$SHMQ rm "$name-1" "$name-2"
is "$?" 0 "cleanup"
done_testing
