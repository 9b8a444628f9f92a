/* pxed: entry point and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: pxed serve [-c FILE] [-o section.key=value]...\n"
		   "       pxed check [-c FILE] [-o section.key=value]... [--print]\n"
		   "       pxed leases [-c FILE] [-o section.key=value]... [--all] [--json]\n"
		   "       pxed status [NODE] [-c FILE] [-o ...]\n"
		   "       pxed node NAME reinstall|cancel [-c FILE] [-o ...]\n"
		   "       pxed render NODE|MAC [--arch bios|uefi-x64|arm64|http|ipxe] "
		   "[--server ADDR] [--reinstall] [-c FILE] [-o ...]\n"
		   "       pxed diskless create|sync|exports|image|overlay ... (docs/diskless.md)\n"
		   "       pxed --version\n"
		   "Configuration keys and errors: docs/config.md, docs/tftp.md.\n");
}

int cli_parse_config_args(int argc, char **argv, struct cli_config_args *out, int *print)
{
	out->file = NULL;
	out->n = 0;
	out->overrides = calloc((size_t)argc + 1, sizeof(char *));
	if (!out->overrides)
		return -1;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			out->file = argv[++i];
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out->overrides[out->n++] = argv[++i];
		} else if (!strncmp(argv[i], "-o", 2) && argv[i][2]) {
			out->overrides[out->n++] = argv[i] + 2;
		} else if (print && !strcmp(argv[i], "--print")) {
			*print = 1;
		} else {
			fprintf(stderr, "pxed: unexpected argument \"%s\"\n", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct cli_config_args a;
	int print = 0;
	if (cli_parse_config_args(argc, argv, &a, &print) < 0)
		return 2;
	struct config_errors errs = {0};
	struct pxed_config *cfg = config_load(a.file, a.overrides, a.n, true, &errs);
	int rc = 0;
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		if (errs.dropped)
			fprintf(stderr, "(%zu more errors)\n", errs.dropped);
		rc = 1;
	} else {
		if (print) {
			char buf[16384];
			config_dump(cfg, buf, sizeof(buf));
			fputs(buf, stdout);
		}
		if (diskless_check(cfg) > 0)
			rc = 1;
		else
			fprintf(stderr, "%s: configuration OK\n",
				a.file ? a.file : "(command line)");
	}
	config_errors_clear(&errs);
	config_unref(cfg);
	free(a.overrides);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("pxed %s\n", PXED_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(cmd, "leases"))
		return cmd_leases(argc - 2, argv + 2);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "nodes"))
		return cmd_status(argc - 2, argv + 2);
	if (!strcmp(cmd, "node"))
		return cmd_node(argc - 2, argv + 2);
	if (!strcmp(cmd, "render"))
		return cmd_render(argc - 2, argv + 2);
	if (!strcmp(cmd, "diskless"))
		return cmd_diskless(argc - 2, argv + 2);
	fprintf(stderr, "pxed: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
