/* SPDX-License-Identifier: MIT */
/* Parsing and formatting: sizes, durations, numbers, users, times. */
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *human_size(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	/* One decimal for every unit, so a column of sizes lines up. */
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > 1e18 || v != floor(v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int parse_duration(const char *s, int64_t *ns)
{
	char *end;
	double v, mult = 1e9;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "s") || !*end)
		mult = 1e9;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60e9;
	else
		return -1;
	if (v * mult > 9e18)
		return -1;
	*ns = (int64_t)(v * mult);
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *user_name(unsigned uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", uid);
	return buf;
}

/* A user name or a uid, as util-linux takes them. */
int parse_user(const char *s, uid_t *uid)
{
	struct passwd *pw;
	uint64_t n;

	if (parse_uint(s, UINT32_MAX - 1, &n) == 0) {
		*uid = (uid_t)n;
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return -1;
	*uid = pw->pw_uid;
	return 0;
}

const char *group_name(unsigned gid, char *buf, size_t size)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, size, "%s", gr->gr_name);
	else
		snprintf(buf, size, "%u", gid);
	return buf;
}

const char *iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, size, "never");
		return buf;
	}
	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}


/*
 * Decode one UTF-8 character at @s: its length, with the code point in
 * *cp; 0 if the bytes there are not valid UTF-8 (overlong, surrogate,
 * beyond U+10FFFF, or cut short).
 */
static size_t utf8_char(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* A control character of C0, DEL or C1: what a terminal obeys. */
static int is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

size_t escape_text(const char *in, int json, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	while (*s && o + 12 < size) {
		uint32_t cp;
		size_t n = utf8_char(s, &cp);

		if (n == 0) {
			/* Not UTF-8: the byte itself, as text that says so. */
			o += (size_t)snprintf(out + o, size - o, json ? "\\\\x%02x" : "\\x%02x", *s);
			s++;
			continue;
		}
		if (is_control(cp))
			o += (size_t)snprintf(out + o, size - o, json ? "\\u%04x" : "\\x%02x",
					      (unsigned)cp);
		else if (cp == '\\' || (json && cp == '"'))
			o += (size_t)snprintf(out + o, size - o, "\\%c", (char)cp);
		else {
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	out[o] = '\0';
	return o;
}

const char *shown(const char *in, char *buf, size_t size)
{
	escape_text(in, 0, buf, size);
	return buf;
}
