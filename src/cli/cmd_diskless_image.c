/* pxed diskless image|overlay ...: RAM-root images and per-node overlays. (being written) */
#include <stdio.h>

#include "cli/cli.h"

int cmd_diskless_image(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "pxed diskless image: not implemented yet\n");
	return 2;
}
