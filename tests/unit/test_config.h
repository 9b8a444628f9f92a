/* Unit-test helper: a configuration from -o style "section.key=value" strings, or abort with
 * every error printed (a test's fixture must load). */
#ifndef PXED_TEST_CONFIG_H
#define PXED_TEST_CONFIG_H

#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"

static inline struct pxed_config *test_config_or_die(const char *const *o, size_t n)
{
	struct config_errors e = {0};
	struct pxed_config *c = config_load(NULL, o, n, false, &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "config: %s\n", e.msg[i]);
	config_errors_clear(&e);
	if (!c)
		abort();
	return c;
}

#endif
