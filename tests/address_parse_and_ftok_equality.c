/* Addresses: every form parses, ftok: equals ftok(3), bad input is refused. */
#include <sys/ipc.h>
#include <sys/stat.h>
#include <fcntl.h>

#include "internal.h"
#include "tap.h"

static void refused(const char *text, const char *why_part)
{
	struct shmq_addr a;
	int r = shmq_addr_parse(text, &a);

	if (!ok(r == -EINVAL && a.why && strstr(a.why, why_part),
		"'%s' is refused: %s", text, why_part))
		diag("  r=%d why=%s", r, a.why ? a.why : "(null)");
}

int main(void)
{
	struct shmq_addr a;
	char path[] = "/tmp/shmq-addr-XXXXXX";
	char text[2048], buf[2048];
	struct stat st;
	int fd, proj;

	tap_start(30);

	/* Names: a stable hash, pinned so it never changes between versions. */
	is_int(shmq_addr_parse("jobs", &a), 0, "a plain name parses");
	is_int(a.kind, SHMQ_ADDR_NAME, "  as a NAME");
	is_int((uint32_t)a.key, 0xc0bccabdu, "  key is FNV-1a(\"shmq/jobs\")");
	ok(!strcmp(a.name, "jobs"), "  the name is kept");
	shmq_addr_parse("demo-1", &a);
	is_int((uint32_t)a.key, 0xf5ecc350u, "'demo-1' hashes to its pinned key");
	shmq_addr_parse("a", &a);
	is_int((uint32_t)a.key, 0x3e51756cu, "'a' hashes to its pinned key");
	memset(text, 'x', 63);
	text[63] = '\0';
	is_int(shmq_addr_parse(text, &a), 0, "a 63-character name parses");
	is_int((uint32_t)a.key, 0xae23de7fu, "  to its pinned key");
	text[63] = 'x';
	text[64] = '\0';
	refused(text, "at most 63");
	refused("", "empty");
	refused("-jobs", "start with '-'");
	refused("jo bs", "only letters");
	refused("jobs/1", "only letters");
	refused("bogus:1", "unknown address form");

	/* A name never maps to IPC_PRIVATE, whatever the hash gives. */
	ok(shmq_name_hash("jobs") != IPC_PRIVATE, "a name's key is never IPC_PRIVATE");

	/* key: */
	is_int(shmq_addr_parse("key:0x1234abcd", &a), 0, "key:0x1234abcd parses");
	is_int((uint32_t)a.key, 0x1234abcdu, "  to that key");
	is_int(shmq_addr_parse("key:4660", &a), 0, "key in decimal parses");
	is_int(a.key, 4660, "  to that key");
	is_int(shmq_addr_parse("key:0xffffffff", &a), 0, "the largest key parses");
	is_int((uint32_t)a.key, 0xffffffffu, "  to all ones");
	refused("key:0", "IPC_PRIVATE");
	refused("key:0x100000000", "32 bits");
	refused("key:12z", "expects a number");
	refused("key:", "expects a number");
	refused("key:-5", "expects a number");

	/* id: */
	is_int(shmq_addr_parse("id:65536", &a), 0, "id:65536 parses");
	is_int(a.kind, SHMQ_ADDR_ID, "  as an ID");
	is_int(a.shmid, 65536, "  with that shmid");
	is_int(shmq_addr_parse("id:0", &a), 0, "id:0 is a valid shmid");
	refused("id:0x10", "expects a shmid");
	refused("id:99999999999", "expects a shmid");

	/* ftok: exactly ftok(3), for every project id form. */
	fd = mkstemp(path);
	if (fd < 0)
		bail_out("mkstemp: %s", strerror(errno));
	close(fd);
	stat(path, &st);
	for (proj = 1; proj <= 255; proj += 127) {
		snprintf(text, sizeof(text), "ftok:%s:%d", path, proj);
		is_int(shmq_addr_parse(text, &a), 0, "ftok with PROJ %d parses", proj);
		is_int(a.key, ftok(path, proj), "  key equals ftok(3)");
		ok(a.dev == (uint64_t)st.st_dev && a.ino == (uint64_t)st.st_ino,
		   "  the file's identity is kept");
	}
	snprintf(text, sizeof(text), "ftok:%s:0x2a", path);
	shmq_addr_parse(text, &a);
	is_int(a.key, ftok(path, 42), "PROJ in hex (0x2a) is 42");
	snprintf(text, sizeof(text), "ftok:%s:A", path);
	shmq_addr_parse(text, &a);
	is_int(a.key, ftok(path, 'A'), "PROJ as one character is that character");
	snprintf(text, sizeof(text), "ftok:%s:0", path);
	refused(text, "PROJ must be 1..255");
	snprintf(text, sizeof(text), "ftok:%s:256", path);
	refused(text, "PROJ must be 1..255");
	refused("ftok:nopath", "ftok:PATH:PROJ");
	refused("ftok::42", "PATH is empty");
	is_int(shmq_addr_parse("ftok:/nonexistent/shmq:42", &a), -ENOENT,
	       "ftok of a missing path is -ENOENT");

	/* A path with a colon: PROJ is after the last one. */
	{
		char cpath[] = "/tmp/shmq:addr-XXXXXX";

		fd = mkstemp(cpath);
		close(fd);
		snprintf(text, sizeof(text), "ftok:%s:42", cpath);
		is_int(shmq_addr_parse(text, &a), 0, "a path holding ':' parses");
		ok(!strcmp(a.path, cpath), "  and keeps the whole path");
		is_int(a.key, ftok(cpath, 42), "  key equals ftok(3)");
		unlink(cpath);
	}

	/* Canonical text round-trips. */
	snprintf(text, sizeof(text), "ftok:%s:42", path);
	shmq_addr_parse(text, &a);
	shmq_addr_format(&a, buf, sizeof(buf));
	ok(!strcmp(buf, text), "ftok formats back to '%s'", buf);
	shmq_addr_parse("key:4660", &a);
	shmq_addr_format(&a, buf, sizeof(buf));
	ok(!strcmp(buf, "key:0x00001234"), "key formats as hex: %s", buf);
	shmq_addr_parse("jobs", &a);
	is_int(shmq_addr_format(&a, buf, 4), -ENOSPC, "a short buffer is -ENOSPC");

	ok(strstr(shmq_addr_forms(), "ftok:PATH:PROJ") != NULL,
	   "the forms text lists ftok:PATH:PROJ");
	unlink(path);
	return done_testing();
}
