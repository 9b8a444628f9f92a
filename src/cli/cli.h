/* Subcommands of the pxed binary. */
#ifndef PXED_CLI_H
#define PXED_CLI_H

#include <stddef.h>

/* Options every config-reading subcommand takes: -c FILE and repeated -o section.key=value. */
struct cli_config_args {
	const char *file;
	const char **overrides;
	size_t n;
};

/** Parse -c/-o (and --print for check) from argv; returns 0 or -1 after printing usage. */
int cli_parse_config_args(int argc, char **argv, struct cli_config_args *out, int *print);

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_leases(int argc, char **argv);
/* pxed diskless create|sync|exports ... (cmd_diskless.c); image|overlay go to
 * cmd_diskless_image (cmd_diskless_image.c). argv[0] is the subcommand. */
int cmd_diskless(int argc, char **argv);
int cmd_diskless_image(int argc, char **argv);

struct pxed_config;
/**
 * The diskless part of `pxed check` (only when some profile has diskless = nfs): exports that
 * belong to no node, nodes without a tree, trees without a (matching) stamp or node, a stale
 * exports file. Prints one "diskless: ..." line per problem on stdout; returns their number.
 */
int diskless_check(const struct pxed_config *c);

#endif
