# `make install DESTDIR=...` installs a library that a program finds through
# pkg-config, builds against and runs with; the SONAME is versioned.
. tests/lib/tap.sh
if ! command -v pkg-config >/dev/null; then
	echo "1..0 # SKIP pkg-config is not installed"; exit 0
fi
dest=$(mktemp -d /tmp/shmq-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s --no-print-directory install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/opt/shmq >/dev/null 2>&1
is "$?" 0 "make install DESTDIR=... PREFIX=/opt/shmq"
for f in opt/shmq/include/shmq.h opt/shmq/lib/libshmq.a opt/shmq/lib/libshmq.so.0 \
	 opt/shmq/lib/libshmq.so opt/shmq/lib/pkgconfig/shmq.pc opt/shmq/bin/shmq \
	 opt/shmq/share/man/man1/shmq.1 opt/shmq/share/man/man3/shmq.3 \
	 opt/shmq/share/man/man3/shmq_open.3; do
	ok $([ -e "$dest/$f" ]; echo $?) "installs $f"
done
# The Python module, where that python3 looks for the prefix; built only
# where Python's headers are.
pycore=$(ls "$BUILD"/python/_shmq.*.so 2>/dev/null)
if command -v python3 >/dev/null && [ -n "$pycore" ]; then
	pydir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib", "posix_prefix", {"base": "/opt/shmq", "platbase": "/opt/shmq"}))')
	ok $([ -e "$dest$pydir/shmq.py" ] && [ -e "$dest$pydir/shmq.pyi" ] &&
		ls "$dest$pydir"/_shmq.*.so >/dev/null; echo $?) \
		"installs the Python module, its type hints and its native core in $pydir"
	if [ -n "${SAN_CFLAGS:-}" ]; then
		# python3 itself is not built with the sanitizer's runtime.
		skip "a sanitizer build of libshmq.so cannot be loaded into python3"
	else
		out=$(cd / && env -u SHMQ_PYTHON_CORE PYTHONPATH="$dest$pydir" python3 -c 'import shmq; print(shmq.version())' 2>&1)
		is "$out" "$($SHMQ --version | sed 's/shmq \([^ ]*\).*/\1/')" "  which imports, with its core"
	fi
	# The default prefix: the very directory python3 itself searches.
	d2=$(mktemp -d /tmp/shmq-install2.XXXXXX)
	make -s --no-print-directory install BUILD="$BUILD" DESTDIR="$d2" >/dev/null 2>&1
	pyself=$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
	ok $([ -e "$d2$pyself/shmq.py" ]; echo $?) "by default, in python3's own purelib ($pyself)"
	python3 -c "import sys; sys.exit('$pyself' not in sys.path)"
	ok $? "  which is on python3's sys.path"
	rm -rf "$d2"
else
	for i in 1 2 3 4; do skip "python3 and its headers (the module's native core) are needed"; done
fi
soname=$(readelf -d "$dest/opt/shmq/lib/libshmq.so" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
is "$soname" "libshmq.so.0" "the SONAME is libshmq.so.0"
exported=$(readelf --dyn-syms -W "$dest/opt/shmq/lib/libshmq.so" | awk '$7 != "UND" && $7 != "ABS" && $5 == "GLOBAL" {print $8}' | sed 's/@.*//' | grep -v '^shmq_' | grep -v '^$')
is "$exported" "" "only shmq_ symbols are exported"
internal=$(readelf --dyn-syms -W "$dest/opt/shmq/lib/libshmq.so" | grep -c 'shmq_name_hash\|shmq_proc_read')
is "$internal" 0 "internal functions are hidden"

cat > "$dest/prog.c" <<'PROG'
#include <shmq.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct shmq_addr a;
	if (strcmp(shmq_version(), SHMQ_VERSION_STRING))
		return 1;
	if (shmq_addr_parse("jobs", &a) || (unsigned)a.key != 0xc0bccabdu)
		return 2;
	printf("shmq %s works\n", shmq_version());
	return 0;
}
PROG
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$dest/opt/shmq/lib/pkgconfig" PKG_CONFIG_LIBDIR=
flags=$(pkg-config --cflags --libs shmq)
is "$?" 0 "pkg-config finds shmq ($flags)"
is "$(pkg-config --modversion shmq)" "$($SHMQ --version | sed 's/shmq \([^ ]*\).*/\1/')" "  at the CLI's version"
${CC:-cc} $SAN_CFLAGS -o "$dest/prog" "$dest/prog.c" $flags 2>&1
is "$?" 0 "a program compiles and links against the installed library"
out=$(LD_LIBRARY_PATH="$dest/opt/shmq/lib" "$dest/prog"); st=$?
is "$st" 0 "and runs"
like "$out" "works" "  using the shared library"
needed=$(readelf -d "$dest/prog" | grep -c 'NEEDED.*libshmq.so.0')
is "$needed" 1 "the program depends on libshmq.so.0"
out=$("$dest/opt/shmq/bin/shmq" --version); st=$?
is "$st" 0 "the installed shmq runs"
# A real install under a PREFIX of one's own (no DESTDIR): a program built
# with pkg-config runs as built, and the Python module, found through
# PYTHONPATH, loads the library installed with it.
pfx=$(mktemp -d /tmp/shmq-prefix.XXXXXX)
make -s --no-print-directory install BUILD="$BUILD" PREFIX="$pfx" >/dev/null 2>&1
is "$?" 0 "make install PREFIX=$pfx"
${CC:-cc} $SAN_CFLAGS -o "$pfx/prog" "$dest/prog.c" \
	$(PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_PATH="$pfx/lib/pkgconfig" pkg-config --cflags --libs shmq) 2>&1
out=$(env -u LD_LIBRARY_PATH "$pfx/prog"); st=$?
is "$st" 0 "  a program built with its pkg-config runs with no LD_LIBRARY_PATH"
if [ -n "$pycore" ] && [ -z "${SAN_CFLAGS:-}" ]; then
	pyp=$(python3 -c 'import sysconfig, sys; p = sys.argv[1]; print(sysconfig.get_path("purelib", "posix_prefix", {"base": p, "platbase": p}))' "$pfx")
	out=$(cd / && env -u SHMQ_PYTHON_CORE PYTHONPATH="$pyp" python3 -c 'import shmq; print(shmq._core.__file__)' 2>&1)
	like "$out" "^$pyp/_shmq\..*so$" "  the Python module loads the core installed with it"
else
	skip "python3, its headers and a build without sanitizers are needed"
fi
rm -f "$pfx/prog"
make -s --no-print-directory uninstall BUILD="$BUILD" PREFIX="$pfx" >/dev/null 2>&1
is "$(find "$pfx" -type f | sed "s|^$pfx||")" "" "  make uninstall PREFIX=... leaves no file of it"
rm -rf "$pfx"
# make uninstall takes away exactly what install put there.
rm -f "$dest/prog" "$dest/prog.c"
make -s --no-print-directory uninstall BUILD="$BUILD" DESTDIR="$dest" PREFIX=/opt/shmq >/dev/null 2>&1
is "$?" 0 "make uninstall DESTDIR=... PREFIX=/opt/shmq"
is "$(find "$dest" -type f -o -type l | sed "s|^$dest||")" "" "  leaves no file of it"
done_testing
