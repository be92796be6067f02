# Every command example in README.md runs here as written, with the same
# arguments, and finishes: each indented line that runs shmq (and make
# demo), in a scratch directory with build/ on the PATH, as the README
# says to set it.  In a block, lines run in turn and must exit 0, except:
#   "shell N:" in its comment   the lines of two shells: run side by side
#   "Ctrl-C" in its comment     runs until Ctrl-C: left running while the
#                               rest of its block runs, then interrupted
# The other make lines build, install or test; CI and the install test run
# those.  Fenced blocks (```) are code and synopses, not commands.
. tests/lib/tap.sh
root=$(pwd)
bin=$(cd "$BUILD" && pwd)
tmp=$(mktemp -d /tmp/shmq-readme.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
head -c 1048576 /dev/urandom > "$tmp/big.bin"
# The README's lines that run from the source tree find its parts here.
ln -s "$root/python" "$root/examples" "$root/bench" "$tmp/"
ln -s "$root/$BUILD" "$tmp/build"
export PATH="$bin:$PATH"
T="timeout -k 5 60"

# The example lines, a block per paragraph: "N<TAB>line", blocks apart by "--".
perl -ne '
	if (/^```/) { $fence = !$fence; next }
	next if $fence;
	if (/^    (\S.*)$/) { $in = 1; print "$.\t$1\n"; next }
	print "--\n" if $in && !/^\s*$/ || ($in && /^\s*$/);
	$in = 0;
' "$root/README.md" | awk '$0 != "--" || prev != "--" { print } { prev = $0 }' > "$tmp/lines"

# A block with a Python line needs python3 and the module's native core,
# built without sanitizers; without, the whole block is skipped: its other
# lines are that line's peers.
no_python() {
	! command -v python3 >/dev/null || [ -n "${SAN_CFLAGS:-}" ] ||
		! ls "$BUILD"/python/_shmq.*.so >/dev/null 2>&1
}

run_block() {
	bg= shells=
	if no_python && grep -q 'python3 ' "$tmp/block"; then
		while IFS='	' read -r n line; do
			skip "line $n: its block needs python3 and the module's native core, built without sanitizers"
		done
		return
	fi
	while IFS='	' read -r n line; do
		# The comment goes; so does a trailing &: this script runs it apart.
		cmd=$(printf '%s' "$line" | sed 's/  *#.*$//; s/ *& *$//')
		note=$(printf '%s' "$line" | sed -n 's/^.*  *# *//p')
		case "$cmd" in
		make\ demo) ;;
		*shmq\ *) ;;
		*python3\ *) ;;
		*) diag "line $n not a shmq example: $cmd"; continue ;;
		esac
		case "$note" in
		*Ctrl-C*)
			(cd "$tmp" && exec setsid sh -c "$cmd; wait") > "$tmp/out.$n" 2>&1 &
			bg="$bg $!:$n"
			sleep 0.3 ;;
		shell\ *)
			(cd "$tmp" && exec $T sh -c "$cmd; wait") > "$tmp/out.$n" 2>&1 &
			shells="$shells $!:$n"
			sleep 0.3 ;;
		*)
			if [ "$cmd" = "make demo" ]; then
				(cd "$root" && $T make -s --no-print-directory demo BUILD="$BUILD") > "$tmp/out.$n" 2>&1
			else
				(cd "$tmp" && $T sh -c "$cmd; wait") > "$tmp/out.$n" 2>&1
			fi
			st=$?
			is "$st" 0 "line $n: $cmd"
			[ "$st" = 0 ] || sed 's/^/#   /' "$tmp/out.$n" | tail -5 ;;
		esac
	done
	for p in $shells; do
		wait "${p%:*}"; st=$?
		is "$st" 0 "line ${p#*:}: $(sed -n "${p#*:}p" "$root/README.md" | sed 's/^ *//; s/  *#.*$//') (side by side)"
	done
	for p in $bg; do
		kill -INT "-${p%:*}" 2>/dev/null
		wait "${p%:*}"; st=$?
		ok $([ "$st" = 0 ] || [ "$st" = 130 ]; echo $?) \
			"line ${p#*:}: $(sed -n "${p#*:}p" "$root/README.md" | sed 's/^ *//; s/  *#.*$//') (ran until Ctrl-C, then ended: $st)"
	done
}

: > "$tmp/block"
while IFS= read -r l; do
	if [ "$l" = "--" ]; then
		[ -s "$tmp/block" ] && run_block < "$tmp/block"
		: > "$tmp/block"
	else
		printf '%s\n' "$l" >> "$tmp/block"
	fi
done < "$tmp/lines"
[ -s "$tmp/block" ] && run_block < "$tmp/block"
cmp -s "$tmp/big.bin" "$tmp/copy.bin"; ok $? "the raw copy is byte for byte the file"
like "$(cat "$tmp"/out.* | grep -c .)" "^[1-9]" "and the examples printed something"
done_testing
