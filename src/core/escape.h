/* Escaping of untrusted strings (file names, host names, vendor classes) for log lines. */
#ifndef PXED_CORE_ESCAPE_H
#define PXED_CORE_ESCAPE_H

#include <stddef.h>

/**
 * Write a printable, NUL-terminated rendering of s[0..len) into out (cap bytes, cap >= 4).
 * Printable ASCII except backslash and double quote is copied; everything else becomes \\, \",
 * \n, \r, \t or \xHH (like OpenBSD strnvis with VIS_CSTYLE). Truncated output ends in "...".
 * Returns out, for use inside printf arguments.
 */
char *str_escape(char *out, size_t cap, const char *s, size_t len);

#endif
