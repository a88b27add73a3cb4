/* center_apply.c -- placeholder until the verb is written (center.h). */
#include <stdio.h>

#include "center.h"

int
center_cmd_apply(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: apply is not written yet\n");
	return CENTER_EXIT_FAIL;
}
