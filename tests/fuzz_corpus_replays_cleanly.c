/*
 * The fuzzer's corpus, replayed deterministically through its harness:
 * segments of arbitrary bytes, attached, drained and written to.  Under
 * make test SANITIZE=1 (as in CI) any read out of bounds or undefined
 * behaviour fails this; a hang trips the deadline.  make fuzz grows the
 * corpus with clang's libFuzzer.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "tap.h"
#include "../fuzz/fuzz_channel.c"

int main(void)
{
	DIR *dir = opendir("fuzz/corpus");
	struct dirent *e;
	int files = 0, seeds = 0;
	int64_t t0 = tap_now_ns();

	tap_start(300);
	if (!dir)
		bail_out("no fuzz/corpus (run from the top of the tree)");
	while ((e = readdir(dir)) != NULL) {
		char path[512];
		struct stat st;
		unsigned char *buf;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "fuzz/corpus/%s", e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		buf = malloc((size_t)st.st_size + 1);
		f = fopen(path, "rb");
		if (!buf || !f || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
			bail_out("cannot read %s", path);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
		free(buf);
		files++;
		seeds += !strncmp(e->d_name, "seed-", 5);
	}
	closedir(dir);
	ok(files > 0, "replayed %d corpus inputs (%d seeds made by the library) "
	   "without a crash, in %.2f s", files, seeds, (tap_now_ns() - t0) / 1e9);
	ok(seeds >= 8, "the seeds are there");
	return done_testing();
}
