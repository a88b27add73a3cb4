/*
 * prune_forget.c -- forget snapshots of a machine through store_forget(),
 * for the prune tests (beemoctl forget and its policies are another
 * verb's).
 *
 * usage: prune_forget STORE MACHINE PASSWORD-FILE ID...
 * Opens STORE/machines/MACHINE read-write with the administrator's
 * password read from PASSWORD-FILE (one line) and forgets the snapshots
 * ID...  Exit status 0, or 1 after a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_log.h"
#include "keymgr.h"
#include "store.h"

int
main(int argc, char **argv)
{
	char keys[4096], dir[4096], pw[256];
	keymgr_secret *sec = NULL;
	keymgr *km = NULL;
	store *st = NULL;
	uint32_t *ids;
	FILE *f;
	int i, rc;

	if (argc < 5) {
		fprintf(stderr, "usage: prune_forget STORE MACHINE "
		    "PASSWORD-FILE ID...\n");
		return 2;
	}
	bm_log_open("prune_forget", 0, -1);
	keymgr_global_init();
	snprintf(keys, sizeof(keys), "%s/keys", argv[1]);
	snprintf(dir, sizeof(dir), "%s/machines/%s", argv[1], argv[2]);
	if ((f = fopen(argv[3], "r")) == NULL || !fgets(pw, sizeof(pw), f)) {
		fprintf(stderr, "prune_forget: cannot read %s\n", argv[3]);
		return 1;
	}
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	if ((ids = calloc((size_t)argc, sizeof(*ids))) == NULL)
		return 1;
	for (i = 4; i < argc; i++)
		ids[i - 4] = (uint32_t)strtoul(argv[i], NULL, 10);
	rc = keymgr_open(keys, &km);
	if (rc == 0)
		rc = keymgr_unlock_admin(km, argv[2], pw, strlen(pw), &sec);
	if (rc == 0)
		rc = store_open(dir, sec, NULL, &st);
	if (rc == 0) {
		store_set_who(st, "admin");
		rc = store_forget(st, ids, (size_t)(argc - 4));
		if (store_close(st) != 0 && rc == 0)
			rc = -EIO;
	}
	if (rc != 0)
		fprintf(stderr, "prune_forget: %s\n", beemo_strerror(rc));
	keymgr_secret_free(sec);
	keymgr_free(km);
	free(ids);
	return rc != 0;
}
