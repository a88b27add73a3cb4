/* center_admin.c -- placeholder until the verb is written (center.h). */
#include <stdio.h>

#include "center.h"

int
center_cmd_add(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: add is not written yet\n");
	return CENTER_EXIT_FAIL;
}

int
center_cmd_list(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: list is not written yet\n");
	return CENTER_EXIT_FAIL;
}

int
center_cmd_status(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: status is not written yet\n");
	return CENTER_EXIT_FAIL;
}

int
center_cmd_remove(struct center_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "beemo-center: remove is not written yet\n");
	return CENTER_EXIT_FAIL;
}
