/* Content types by extension; see http_mime.h. */
#include "http/http_mime.h"

#include <stdbool.h>
#include <string.h>

struct mime_entry {
	const char *ext; /* lowercase, without the dot */
	const char *type;
};

/* Only what differs from HTTP_MIME_DEFAULT needs an entry; octet-stream ones are listed where
 * a reader might wonder (boot loaders, images, compressed files are opaque bytes to every
 * client pxed serves, and text/plain would invite a browser or proxy to transform them). */
static const struct mime_entry mime_table[] = {
	{"ipxe", "text/plain"},	     {"cfg", "text/plain"},
	{"conf", "text/plain"},	     {"ks", "text/plain"},
	{"txt", "text/plain"},	     {"sh", "text/plain"},
	{"menu", "text/plain"},	     {"seed", "text/plain"},
	{"preseed", "text/plain"},   {"yaml", "text/plain"},
	{"yml", "text/plain"},	     {"asc", "text/plain"},
	{"sha256", "text/plain"},    {"md5", "text/plain"},
	{"html", "text/html"},	     {"htm", "text/html"},
	{"css", "text/css"},	     {"json", "application/json"},
	{"xml", "application/xml"},  {"iso", "application/x-iso9660-image"},
	{"efi", HTTP_MIME_DEFAULT},  {"kpxe", HTTP_MIME_DEFAULT},
	{"pxe", HTTP_MIME_DEFAULT},  {"0", HTTP_MIME_DEFAULT},
	{"c32", HTTP_MIME_DEFAULT},  {"img", HTTP_MIME_DEFAULT},
	{"gz", HTTP_MIME_DEFAULT},   {"xz", HTTP_MIME_DEFAULT},
	{"zst", HTTP_MIME_DEFAULT},  {"squashfs", HTTP_MIME_DEFAULT},
	{"cpio", HTTP_MIME_DEFAULT}, {"rpm", HTTP_MIME_DEFAULT},
	{"deb", HTTP_MIME_DEFAULT},
};

/* ASCII case-insensitive equality of ext[0..n) with the lowercase, NUL-terminated want. */
static bool ext_equal(const char *ext, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++) {
		char c = ext[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (want[i] == '\0' || c != want[i])
			return false;
	}
	return want[n] == '\0';
}

const char *http_mime_type(const char *name, size_t len)
{
	size_t base = len, dot = len;
	while (base > 0 && name[base - 1] != '/')
		base--;
	for (size_t i = len; i > base + 1; i--) {
		if (name[i - 1] == '.') {
			dot = i - 1;
			break;
		}
	}
	if (dot == len)
		return HTTP_MIME_DEFAULT;
	for (size_t i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++) {
		if (ext_equal(name + dot + 1, len - dot - 1, mime_table[i].ext))
			return mime_table[i].type;
	}
	return HTTP_MIME_DEFAULT;
}
