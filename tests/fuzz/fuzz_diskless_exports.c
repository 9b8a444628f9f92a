/* Fuzz exports_parse_paths (src/diskless/exports.c), which reads an existing exports file to
 * find the paths it exports. Input: byte 0 bit 0 = format (0 kernel exports(5), 1 nfs-ganesha
 * EXPORT blocks), the rest is the file text (an exact-size NUL-terminated copy; a NUL inside
 * ends the text early).
 *
 * Checked with abort(): the return value is the number of callbacks; every path is non-empty,
 * NUL-terminated, shorter than 1024 bytes, holds no '\n' and occurs in the text; the same paths in the same order when parsed again
 * (determinism); the paths without '"' (and, for ganesha, without "Path"), written back as
 * exports lines or EXPORT blocks in the format pxed generates, parse to the same paths. */
#include "diskless/exports.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const char *text;
	char **paths;
	size_t n, cap;
};

static void collect(void *ctx, const char *path)
{
	struct seen *s = ctx;
	size_t len = strlen(path);
	if (!len || len >= 1024 || strchr(path, '\n') || !strstr(s->text, path))
		abort();
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->paths = realloc(s->paths, s->cap * sizeof(*s->paths));
		if (!s->paths)
			abort();
	}
	s->paths[s->n++] = strdup(path);
}

static void parse(const char *text, enum exports_format f, struct seen *s)
{
	*s = (struct seen){.text = text};
	int n = exports_parse_paths(text, f, collect, s);
	if (n < 0 || (size_t)n != s->n)
		abort();
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	free(s->paths);
}

static bool writable(const char *path, enum exports_format f)
{
	return !strchr(path, '"') && (f == EXPORTS_KERNEL || !strstr(path, "Path"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum exports_format f = data[0] & 1 ? EXPORTS_GANESHA : EXPORTS_KERNEL;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	struct seen a, b;
	parse(text, f, &a);
	parse(text, f, &b);
	if (a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.paths[i], b.paths[i]) != 0)
			abort();
	seen_free(&b);

	/* write the paths back the way pxed generates exports, quoted */
	size_t cap = 64, o = 0, want = 0;
	for (size_t i = 0; i < a.n; i++)
		cap += strlen(a.paths[i]) + 256;
	char *out = malloc(cap);
	out[0] = '\0';
	for (size_t i = 0; i < a.n; i++) {
		if (!writable(a.paths[i], f))
			continue;
		want++;
		if (f == EXPORTS_KERNEL)
			o += (size_t)snprintf(out + o, cap - o,
					      "\"%s\" 10.0.0.5(rw,no_root_squash,no_subtree_check,"
					      "sync) \\\n  10.0.0.0/24(ro)\n",
					      a.paths[i]);
		else
			o += (size_t)snprintf(out + o, cap - o,
					      "EXPORT {\n\tExport_Id = %zu;\n\tPath = \"%s\";\n"
					      "\tPseudo_Path = \"/p\";\n\tCLIENT { Clients = "
					      "10.0.0.5; }\n}\n",
					      i + 2, a.paths[i]);
	}
	parse(out, f, &b);
	if (b.n != want)
		abort();
	for (size_t i = 0, k = 0; i < a.n; i++) {
		if (!writable(a.paths[i], f))
			continue;
		if (strcmp(a.paths[i], b.paths[k++]) != 0)
			abort();
	}
	seen_free(&b);
	seen_free(&a);
	free(out);
	free(text);
	return 0;
}
