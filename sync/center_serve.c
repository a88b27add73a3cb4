/* center_serve.c -- placeholder until the verb is written (center.h). */
#include <stdio.h>

#include "center.h"

int
center_cmd_serve(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: serve is not written yet\n");
	return CENTER_EXIT_FAIL;
}
