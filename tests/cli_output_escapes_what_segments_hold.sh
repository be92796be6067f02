# Nothing read from a segment reaches the terminal raw.  A segment whose
# stored name holds terminal escapes (ESC [ 2 J clears the screen), a C1
# control and bytes that are not UTF-8, with a valid checksum: ls, stat and
# clean show it as corrupted (no opener writes such a name) and print no
# control byte, in text or JSON, and the JSON parses.
. tests/lib/tap.sh
id=$($BUILD/helpers/craft 1b5b324ac29bff2e2e)
ok $? "a segment with a crafted name (id $id)"
trap '$SHMQ rm id:$id >/dev/null 2>&1' EXIT

raw() {	# raw TEXT: how many control or non-UTF-8 bytes TEXT holds
	printf '%s' "$1" | perl -ne 'BEGIN { $n = 0 } s/\n//; $n++ while /[\x00-\x1f\x7f]/g;
		utf8::decode($_) or $n++; $n++ while /[\x{80}-\x{9f}]/g; END { print $n }'
}
out=$($SHMQ ls)
is "$(raw "$out")" 0 "ls prints no control byte"
like "$out" "^0x00000000 *$id .*shmq, corrupted" "  and calls the segment corrupted"
out=$($SHMQ stat id:$id)
is "$(raw "$out")" 0 "stat prints no control byte"
like "$out" "^shmq *shmq, corrupted" "  and says corrupted"
for cmd in "ls --json" "stat id:$id --json"; do
	out=$($SHMQ $cmd)
	is "$(raw "$out")" 0 "$cmd prints no control byte"
	printf '%s' "$out" | perl -MJSON::PP -e 'local $/; decode_json(<STDIN>)' 2>/dev/null
	ok $? "  and its JSON parses"
done
out=$($SHMQ clean --dry-run)
is "$(raw "$out")" 0 "clean prints no control byte"
done_testing
