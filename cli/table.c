/* SPDX-License-Identifier: MIT */
/* An aligned text table: add rows of strings, then print. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void table_init(struct table *t, int ncols, const char *const *head,
		const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = head;
	t->align = align;
}

void table_row(struct table *t, ...)
{
	va_list ap;
	int i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cell, cap * (size_t)t->ncols * sizeof(*p));

		if (!p)
			return;
		t->cell = p;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cell[t->nrows * (size_t)t->ncols + (size_t)i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

void table_print(const struct table *t, FILE *f)
{
	size_t w[32] = { 0 }, r;
	int i;

	for (i = 0; i < t->ncols && i < 32; i++) {
		w[i] = strlen(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			const char *s = t->cell[r * (size_t)t->ncols + (size_t)i];

			if (s && strlen(s) > w[i])
				w[i] = strlen(s);
		}
	}
	for (r = 0; r <= t->nrows; r++) {
		for (i = 0; i < t->ncols && i < 32; i++) {
			const char *s = r == 0 ? t->head[i] :
				t->cell[(r - 1) * (size_t)t->ncols + (size_t)i];
			int last = i == t->ncols - 1;

			if (!s)
				s = "";
			if (t->align && t->align[i] == 'r')
				fprintf(f, "%*s%s", (int)w[i], s, last ? "" : "  ");
			else if (last)
				fprintf(f, "%s", s);
			else
				fprintf(f, "%-*s  ", (int)w[i], s);
		}
		fputc('\n', f);
	}
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->nrows = t->cap = 0;
}

