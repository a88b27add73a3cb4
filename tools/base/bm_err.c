/*
 * bm_err.c -- messages of Beemo's error codes (bm_err.h).
 */
#include <string.h>

#include "bm_err.h"

static const char *const beemo_msgs[] = {
	[1] = "wrong password or key file",
	[2] = "malformed file or record",
	[3] = "unsupported format version",
	[4] = "no such machine",
	[5] = "no such user",
	[6] = "not a Beemo store",
	[7] = "belongs to another store or machine",
	[8] = "in use by another process",
	[9] = "virus found",
	[10] = "bad configuration",
	[11] = "host key not trusted",
	[12] = "key generation not present",
	[13] = "remote operation failed",
	[14] = "no such snapshot",
	[15] = "quota exceeded",
	[16] = "the index is older than the packs (rolled back; "
	       "beemoctl rebuild-index repairs it)",
};

const char *
beemo_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err <= BEEMO_ERR_BASE - 1 && err >= BEEMO_ERR_LAST)
		return beemo_msgs[BEEMO_ERR_BASE - err];
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
