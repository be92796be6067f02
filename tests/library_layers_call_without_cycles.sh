# The library's files form layers: no two of them call each other's
# functions in a circle, directly or through others.  The graph is read
# from the objects (nm): an edge A -> B when A.o calls a function B.o
# defines.  A kind's table is data: calls through it are the dispatcher's,
# not an edge.  Also: no library function is longer than 60 lines, unless
# a comment above it says why.
. tests/lib/tap.sh
objs=$(ls "$BUILD"/src/*.o 2>/dev/null)
if [ -z "$objs" ]; then echo "1..0 # SKIP no objects in $BUILD/src"; exit 0; fi
# Every function each object defines, once: "SYMBOL FILE".
defs=$(for p in $objs; do
	nm --defined-only "$p" | awk -v f="$(basename "$p" .o)" '$2 ~ /[Tt]/ { print $3, f }'
done)
# One nm per object, one join: a run of nm and awk per symbol took over
# 300 s in the sanitizer build.
edges=$(for o in $objs; do
	a=$(basename "$o" .o)
	nm -u "$o" | awk -v a="$a" '{ print "U", $2, a }'
done | { printf '%s\n' "$defs" | awk '{ print "D", $1, $2 }'; cat; } |
	awk '$1 == "D" { def[$2] = $3; next } ($2 in def) && def[$2] != $3 { print $3, def[$2] }' |
	sort -u)
diag "calls between files:"
printf '%s\n' "$edges" | awk '{ printf "#   %s -> %s\n", $1, $2 }'
# tsort reports a cycle on stderr.
cycle=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null)
is "$cycle" "" "no circle of calls between library files"

long=$(for f in src/*.c; do
	awk -v f="$f" '
		/^[a-zA-Z].*\(/ && !/;/ { name = $0; start = NR; why = (prev ~ /\*\/$/ && comment ~ /long/) }
		/^\/\*/ { comment = "" } { comment = comment $0 }
		/^}/ && start { n = NR - start + 1; if (n > 60 && !why) print f ": " n " lines: " name; start = 0 }
		{ prev = $0 }' "$f"
done)
is "$long" "" "no function over 60 lines without a reason above it"
# The map of files in docs/design.md (section 3) names every file.
missing=$(for f in src/*.c src/*.h; do
	b=$(basename "$f")
	grep -q "\`\(src/\)\{0,1\}$b\`" docs/design.md || echo "$f"
done)
is "$missing" "" "docs/design.md's map of files names every library file"
done_testing
