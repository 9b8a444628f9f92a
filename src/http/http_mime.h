/* Content types of static files, by file name extension. Pure. */
#ifndef PXED_HTTP_MIME_H
#define PXED_HTTP_MIME_H

#include <stddef.h>

#define HTTP_MIME_DEFAULT "application/octet-stream"

/**
 * Content-Type for the file name or path name[0..len) (need not be NUL-terminated): looks at the
 * extension of the last path component (after its last '.', compared case-insensitively; a
 * leading '.' of a hidden file does not start an extension). Boot scripts and configs (.ipxe,
 * .cfg, .conf, .ks, .txt, ...) are text/plain, .html text/html, .json application/json, .xml
 * application/xml (repodata), .iso application/x-iso9660-image; loaders, kernels, images and
 * archives (.efi, .kpxe, .0, .c32, .img, .gz, .xz, .squashfs, vmlinuz, initrd, ...) and every
 * unknown name are HTTP_MIME_DEFAULT. Returns a static string.
 */
const char *http_mime_type(const char *name, size_t len);

#endif
