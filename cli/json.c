/* SPDX-License-Identifier: MIT */
/* A minimal JSON writer, enough for flat records and arrays of them. */
#include <math.h>
#include <string.h>

#include "cli.h"

static void json_escape(FILE *f, const char *s)
{
	char buf[6 * 1024];

	/* Every string, whatever its source: valid JSON, no raw control. */
	escape_text(s, 1, buf, sizeof(buf));
	fprintf(f, "\"%s\"", buf);
}

static void json_key(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (key) {
		json_escape(j->f, key);
		fputc(':', j->f);
	}
}

void json_start(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

void json_open(struct json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->f);
	j->first[++j->depth] = 1;
}

void json_close(struct json *j, char bracket)
{
	fputc(bracket, j->f);
	j->depth--;
}

void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_escape(j->f, v);
}

void json_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	fprintf(j->f, "%lld", v);
}

void json_uint(struct json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", v);
}

void json_num(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

