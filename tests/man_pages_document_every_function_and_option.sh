# shmq(3) documents every function the shared library exports (in its NAME
# line and its SYNOPSIS), and shmq(1) every subcommand and every option
# each one's --help lists (in that command's section, or among the channel
# options).
. tests/lib/tap.sh
man3=man/shmq.3
man1=man/shmq.1
syms=$(readelf --dyn-syms -W "$BUILD/libshmq.so" | awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" {print $8}' | sed 's/@.*//' | sort -u)
ok $([ -n "$syms" ]; echo $?) "the library exports functions ($(echo $syms | wc -w))"
name_line=$(sed -n '/^\.SH NAME/,/^\.SH SYNOPSIS/p' "$man3" | tr '\n' ' ')
synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$man3")
missing=
for f in $syms; do
	printf '%s' "$name_line" | grep -qw "$f" || missing="$missing $f(NAME)"
	printf '%s\n' "$synopsis" | grep -q "[ *]$f(" || missing="$missing $f(SYNOPSIS)"
done
is "$missing" "" "shmq(3) names and declares every exported function"
described=
for f in $syms; do
	sed -n '/^\.SH DESCRIPTION/,$p' "$man3" | grep -q "^\.BR $f ()" || described="$described $f"
done
is "$described" "" "  and describes each one"

channel_section=$(sed -n '/^\.SH CHANNEL OPTIONS/,/^\.SH EXIT STATUS/p' "$man1" | sed 's/\\-/-/g')
for c in $($SHMQ --help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
	section=$(sed -n "/^\.SS shmq $c\$/,/^\.S[SH] /p" "$man1" | sed 's/\\-/-/g')
	ok $([ -n "$section" ]; echo $?) "shmq(1) has a section for $c"
	printf '%s\n' "$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$man1")" | grep -q "^\.B shmq $c\$"
	ok $? "  and $c is in its synopsis"
	opts=$($SHMQ $c --help | grep -oE -- '^ +(-[a-zA-Z0-9], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+$' | sort -u)
	missing=
	for o in $opts; do
		printf '%s\n' "$section" | grep -q -- "$o\b" && continue
		printf '%s\n' "$channel_section" | grep -q -- "$o\b" && continue
		missing="$missing $o"
	done
	is "$missing" "" "  every option of shmq $c --help is documented ($(echo $opts | wc -w))"
done
done_testing
