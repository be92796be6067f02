/* SPDX-License-Identifier: MIT */
/*
 * The address layer: one string names a segment everywhere.
 *
 * It knows nothing about segments; it only turns text into a SysV key
 * (or a shmid) plus what is needed to recognise the right segment later:
 * the name for NAME addresses, the file identity for ftok addresses.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/stat.h>

#include "internal.h"

SHMQ_API const char *shmq_addr_forms(void)
{
	return "NAME, ftok:PATH:PROJ, key:0xHEX (or decimal) or id:SHMID";
}

/*
 * FNV-1a, 32 bits, over "shmq/" NAME.  This is part of the contract with
 * every other implementation (Python, other languages): never change it.
 */
uint32_t shmq_name_hash(const char *name)
{
	static const char prefix[] = "shmq/";
	uint32_t h = 0x811c9dc5u;
	const char *p;

	for (p = prefix; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x01000193u;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x01000193u;
	/* IPC_PRIVATE would mean "a new private segment", never a name. */
	if (h == IPC_PRIVATE)
		h = 0x73686d71u;	/* "shmq" */
	return h;
}

static int invalid(struct shmq_addr *a, const char *why)
{
	a->why = why;
	return -EINVAL;
}

/* Strict unsigned parse: decimal, or hex with 0x; the whole string. */
static int parse_u64(const char *s, int allow_hex, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s < '0' || (*s > '9' && base == 10) ||
	    (base == 16 && !((*s >= '0' && *s <= '9') ||
			     (*s >= 'a' && *s <= 'f') ||
			     (*s >= 'A' && *s <= 'F'))))
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int valid_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int shmq_name_valid(const char *name, size_t size)
{
	size_t i;

	for (i = 0; i < size && name[i]; i++)
		if (!valid_name_char(name[i]))
			return 0;
	return i > 0 && i < size && i <= SHMQ_NAME_MAX && name[0] != '-';
}

static int parse_name(const char *text, struct shmq_addr *a)
{
	size_t len = strlen(text);
	size_t i;

	if (len == 0)
		return invalid(a, "the address is empty");
	if (len > SHMQ_NAME_MAX)
		return invalid(a, "a name has at most 63 characters");
	if (text[0] == '-')
		return invalid(a, "a name may not start with '-'");
	for (i = 0; i < len; i++)
		if (!valid_name_char(text[i]))
			return invalid(a, "a name uses only letters, digits, '.', '_' and '-'");
	a->kind = SHMQ_ADDR_NAME;
	memcpy(a->name, text, len + 1);
	a->key = (key_t)shmq_name_hash(a->name);
	return 0;
}

static int parse_proj(const char *s, int *proj)
{
	uint64_t v;

	/* One printable non-digit character, as in ftok(path, 'A'). */
	if (s[0] && !s[1] && !(s[0] >= '0' && s[0] <= '9')) {
		*proj = (unsigned char)s[0];
		return 0;
	}
	if (s[0] == '\'' && s[1] && s[2] == '\'' && !s[3]) {
		*proj = (unsigned char)s[1];
		return 0;
	}
	if (parse_u64(s, 1, &v) || v < 1 || v > 255)
		return -1;
	*proj = (int)v;
	return 0;
}

static int parse_ftok(const char *rest, struct shmq_addr *a)
{
	const char *colon = strrchr(rest, ':');
	size_t plen;
	struct stat st;
	key_t k;

	if (!colon)
		return invalid(a, "ftok addresses are ftok:PATH:PROJ");
	plen = (size_t)(colon - rest);
	if (plen == 0)
		return invalid(a, "ftok: the PATH is empty");
	if (plen >= sizeof(a->path))
		return invalid(a, "ftok: the PATH is too long");
	if (parse_proj(colon + 1, &a->proj))
		return invalid(a, "ftok: PROJ must be 1..255 or one character");
	memcpy(a->path, rest, plen);
	a->path[plen] = '\0';
	a->kind = SHMQ_ADDR_FTOK;
	if (stat(a->path, &st) < 0)
		return -errno;
	/* ftok(3) itself, so the key is exactly what other programs get. */
	k = ftok(a->path, a->proj);
	if (k == (key_t)-1)
		return -errno;
	a->key = k;
	a->dev = (uint64_t)st.st_dev;
	a->ino = (uint64_t)st.st_ino;
	return 0;
}

SHMQ_API int shmq_addr_parse(const char *text, struct shmq_addr *a)
{
	const char *colon;
	uint64_t v;

	memset(a, 0, sizeof(*a));
	a->shmid = -1;
	if (!text)
		return invalid(a, "the address is empty");
	colon = strchr(text, ':');
	if (!colon)
		return parse_name(text, a);
	if (!strncmp(text, "ftok:", 5))
		return parse_ftok(text + 5, a);
	if (!strncmp(text, "key:", 4)) {
		if (parse_u64(text + 4, 1, &v))
			return invalid(a, "key: expects a number, such as key:0x1234abcd");
		if (v == 0)
			return invalid(a, "key:0 is IPC_PRIVATE, which names no segment");
		if (v > UINT32_MAX)
			return invalid(a, "key: a key has 32 bits");
		a->kind = SHMQ_ADDR_KEY;
		a->key = (key_t)(uint32_t)v;
		return 0;
	}
	if (!strncmp(text, "id:", 3)) {
		if (parse_u64(text + 3, 0, &v) || v > INT_MAX)
			return invalid(a, "id: expects a shmid, such as id:65536");
		a->kind = SHMQ_ADDR_ID;
		a->key = IPC_PRIVATE;
		a->shmid = (int)v;
		return 0;
	}
	return invalid(a, "unknown address form");
}

SHMQ_API int shmq_addr_format(const struct shmq_addr *a, char *buf, size_t size)
{
	int n;

	switch (a->kind) {
	case SHMQ_ADDR_NAME:
		n = snprintf(buf, size, "%s", a->name);
		break;
	case SHMQ_ADDR_FTOK:
		n = snprintf(buf, size, "ftok:%s:%d", a->path, a->proj);
		break;
	case SHMQ_ADDR_KEY:
		n = snprintf(buf, size, "key:0x%08x", (uint32_t)a->key);
		break;
	case SHMQ_ADDR_ID:
		n = snprintf(buf, size, "id:%d", a->shmid);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
