# include/shmq.h compiles on its own as strict ISO C (c99, c11, c17, with
# -pedantic and warnings as errors) and as C++, and a program using its
# types and calls links against the library.
. tests/lib/tap.sh
tmp=$(mktemp -d /tmp/shmq-hdr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/use.c" <<'C'
#include <shmq.h>
int main(void)
{
	struct shmq_options o = { 0 };
	struct shmq_addr a;
	struct shmq_info i;
	struct shmq_desc d;
	struct shmq_seg_info s;
	shmq_t *q = 0;
	shmq_hub_t *h = 0;

	(void)o; (void)i; (void)d; (void)s; (void)q; (void)h;
	return shmq_addr_parse("x", &a) != 0 || shmq_strerror(-EPIPE) == 0;
}
C
cc=${CC:-cc}
for std in c99 c11 c17; do
	out=$($cc -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/use.c" -o "$tmp/use.o" 2>&1)
	ok $? "-std=$std -pedantic -Werror"
	[ -n "$out" ] && diag "$out"
done
$cc -std=c99 -pedantic ${SAN_CFLAGS:-} -Iinclude "$tmp/use.c" -o "$tmp/use" $BUILD/libshmq.a -lpthread 2>/dev/null && "$tmp/use"
ok $? "  and it links and runs"
if command -v ${CXX:-c++} >/dev/null 2>&1; then
	# C++ zero-initialises with {}, where C writes { 0 }.
	sed 's/= { 0 }/= {}/' "$tmp/use.c" > "$tmp/use.cc"
	for std in c++11 c++17; do
		out=$(${CXX:-c++} -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/use.cc" -o "$tmp/use.o" 2>&1)
		ok $? "as C++ (-std=$std -pedantic -Werror)"
		[ -n "$out" ] && diag "$out"
	done
else
	skip "no C++ compiler"
	skip "no C++ compiler"
fi
done_testing
