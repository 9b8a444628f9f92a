/* Fuzz the per-node glob matching of node trees (src/diskless/tree.c): tree_is_per_node and
 * tree_is_managed. Input: '\n'-separated lines (exact-size NUL-terminated copies): the first is
 * a profile's `per-node` value (comma-separated globs), each further line a tree path.
 *
 * Checked with abort(), per path:
 *  - determinism; the built-in list (extra NULL or "") is always covered too; a managed path
 *    (but fastboot) is per-node;
 *  - the value covers the path exactly when the built-in list or one of its globs alone does;
 *  - a glob G covers the same paths as "/G", "G/" and G followed by slash-star-star (G not
 *    ending in a blank, '/' or slash-star-star);
 *  - a glob of literal bytes, '*' and '?' (no '[' or escape) covers what a reference matcher
 *    says: the path or an ancestor matches it component by component, a wildcard never
 *    matching '/' (leading '/', trailing '/' and blanks, slash-star-star dropped);
 *  - a covered path covers what is beneath it ("PATH/x"). */
#include "diskless/tree.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLINES 16
#define MAXGLOBS 8

/* Wildcard match of one component: '*' any run of bytes, '?' one byte, else literal. */
static bool wmatch(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t i = 0, j = 0, star = (size_t)-1, mark = 0;
	while (j < sn) {
		if (i < pn && p[i] == '*') {
			star = i++;
			mark = j;
		} else if (i < pn && (p[i] == '?' || p[i] == s[j])) {
			i++, j++;
		} else if (star != (size_t)-1) {
			i = star + 1;
			j = ++mark;
		} else {
			return false;
		}
	}
	while (i < pn && p[i] == '*')
		i++;
	return i == pn;
}

/* Does g (n bytes, no '[' or '\\') match s[0..sn) component by component? */
static bool ref_match(const char *g, size_t n, const char *s, size_t sn)
{
	for (;;) {
		const char *gs = memchr(g, '/', n), *ss = memchr(s, '/', sn);
		size_t gl = gs ? (size_t)(gs - g) : n, sl = ss ? (size_t)(ss - s) : sn;
		if (!gs != !ss || !wmatch(g, gl, s, sl))
			return false;
		if (!gs)
			return true;
		g += gl + 1, n -= gl + 1;
		s += sl + 1, sn -= sl + 1;
	}
}

/* Reference glob_covers for a glob of '*', '?' and literal bytes: normalise like the code
 * (leading '/', trailing blanks, one slash-star-star, trailing '/'), then match the path or
 * any ancestor (the path cut before one of its '/'). */
static bool ref_covers(const char *g, size_t n, const char *path)
{
	while (n && g[0] == '/')
		g++, n--;
	while (n && (g[n - 1] == ' ' || g[n - 1] == '\t'))
		n--;
	if (n >= 3 && !strncmp(g + n - 3, "/**", 3))
		n -= 3;
	while (n && g[n - 1] == '/')
		n--;
	size_t len = strlen(path);
	if (!n || n >= 512 || len >= 4096)
		return false;
	for (size_t i = 0; i <= len; i++)
		if ((i == len || path[i] == '/') && ref_match(g, n, path, i))
			return true;
	return false;
}

static void check_path(const char *path, const char *extra)
{
	bool r = tree_is_per_node(path, extra);
	bool builtin = tree_is_per_node(path, NULL);
	if (tree_is_per_node(path, extra) != r || tree_is_per_node(path, "") != builtin)
		abort();
	if (builtin && !r)
		abort();
	if (tree_is_managed(path) && strcmp(path, "fastboot") != 0 && !builtin)
		abort();

	/* one glob at a time */
	bool any = builtin;
	const char *p = extra;
	for (int k = 0; *p && k < MAXGLOBS; k++) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ",");
		if (!n)
			break;
		char *g = strndup(p, n);
		bool one = tree_is_per_node(path, g);
		any |= one;
		if (builtin && !one)
			abort();
		if (!builtin && strlen(path) < 512 && !strpbrk(g, "[\\") &&
		    one != ref_covers(g, n, path))
			abort();
		char last = g[n - 1];
		bool starstar = n >= 3 && !strcmp(g + n - 3, "/**");
		if (last != ' ' && last != '\t' && last != '/' && !starstar && n < 400) {
			char v[512];
			snprintf(v, sizeof(v), "/%s", g);
			if (tree_is_per_node(path, v) != one)
				abort();
			snprintf(v, sizeof(v), "%s/", g);
			if (tree_is_per_node(path, v) != one)
				abort();
			snprintf(v, sizeof(v), "%s/**", g);
			if (tree_is_per_node(path, v) != one)
				abort();
		}
		free(g);
		p += n;
	}
	if (!*p && any != r)
		abort(); /* every glob was looked at */

	size_t len = strlen(path);
	if (r && len + 3 < 4096) {
		char *child = malloc(len + 3);
		memcpy(child, path, len);
		memcpy(child + len, "/x", 3);
		if (!tree_is_per_node(child, extra))
			abort();
		free(child);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *extra = NULL;
	for (int i = 0; i <= MAXLINES && p <= end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *c = malloc(n + 1);
		memcpy(c, p, n);
		c[n] = '\0'; /* a NUL inside ends the line early: fine */
		p += n + 1;
		if (!extra) {
			extra = c;
			continue;
		}
		check_path(c, extra);
		free(c);
	}
	free(extra);
	return 0;
}
