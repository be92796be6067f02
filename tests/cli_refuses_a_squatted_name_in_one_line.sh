# Another user pre-creates the key of a name, wide open (0666): shmq
# refuses it and explains why in one line; trusting that user (and the
# mode) is a deliberate choice on the command line.
. tests/lib/tap.sh
runas=$BUILD/helpers/runas
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root to act as uid 65534"; exit 0
fi
name=$(tname squat)
# Even if a check fails, leave nothing behind.
trap '$SHMQ rm --force "$name" >/dev/null 2>&1' EXIT
$runas 65534 $SHMQ create "$name" --size 64K --mode 0666 >/dev/null
is "$?" 0 "uid 65534 creates the key of '$name', mode 0666"
err=$($SHMQ recv "$name" --timeout 1s 2>&1 >/dev/null); st=$?
is "$st" 1 "shmq recv refuses it: exit 1"
is "$(printf '%s\n' "$err" | wc -l | tr -d ' ')" 1 "  with one line"
like "$err" "refused: segment id [0-9]* was created by uid 65534 .* not by you (uid 0)" \
	"  that says who created it"
like "$err" "(--trust-uid)" "  and how to accept it deliberately"
err=$($SHMQ send "$name" --trust-uid 65534 --timeout 1s hi 2>&1 >/dev/null); st=$?
is "$st" 1 "trusting uid 65534 alone: still refused"
like "$err" "mode 0666) is not a shmq segment" "  because it is not a shmq segment (its mode says less)"
# Trusted, it is still a plain segment that shmq did not make (shmq create
# never attaches it; a shmq creator that died setting up attached it
# first): it is refused, and left alone.
err=$($SHMQ recv "$name" --trust-uid 65534 --mode 0666 --timeout 300ms 2>&1)
like "$err" "segment id [0-9]* is not a shmq channel" \
	"trusting the uid and the mode: a plain segment is still not a channel"
$SHMQ stat "$name" >/dev/null 2>&1
is "$?" 0 "  and it is left where it was"
$SHMQ rm "$name" >/dev/null

# The same for a hub: neither its server nor its clients use a squatted key.
$runas 65534 $SHMQ create "$name" --size 12416 --mode 0666 >/dev/null
err=$($SHMQ pong --hub "$name" --timeout 1s 2>&1 >/dev/null); st=$?
is "$st" 1 "shmq pong --hub refuses a squatted address: exit 1"
like "$err" "refused: segment id [0-9]* was created by uid 65534" "  saying who created it"
err=$($SHMQ ping --connect "$name" --timeout 1s -c 1 2>&1 >/dev/null); st=$?
is "$st" 1 "a hub's client refuses it too"
like "$err" "refused: segment id [0-9]* was created by uid 65534" "  saying who created it"
$SHMQ rm "$name" >/dev/null
done_testing
