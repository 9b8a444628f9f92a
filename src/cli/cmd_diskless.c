/* pxed diskless ...: per-node NFS roots (create, sync, exports). (being written) */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_diskless(int argc, char **argv)
{
	if (argc >= 1 && (!strcmp(argv[0], "image") || !strcmp(argv[0], "overlay")))
		return cmd_diskless_image(argc, argv);
	fprintf(stderr, "pxed diskless: not implemented yet\n");
	return 2;
}
