/*
 * center_pin.h -- the administrator's key a storage center believes for
 * an area (center_pin.c), and the verb `beemo-center pin`.
 *
 * Design.  A deletion request is believed only if the appliance's
 * administrator signed it, and a center cannot take the newest
 * keys/admin.key.H an appliance uploaded as that administrator's key: a
 * compromised appliance can upload an admin.key of its own making.  So
 * the center PINS one key per area, in AREA/state/admin.pin (a copy of
 * the admin.key file, out of the appliance's reach):
 *
 *   - the first time apply or pin sees an area without a pin and with
 *     exactly one data/keys/admin.key.*, it pins that one (the
 *     appliance's first push, before any attacker could add one);
 *     with none or several it pins nothing and says so: the operator
 *     pins with `beemo-center pin AREA --admin-key FILE`;
 *   - when `beemoctl admin passwd` replaces the ADMIN key pair, the old
 *     key endorses the new admin.key (keymgr_admin_endorse), and the
 *     appliance pushes the endorsement as data/keys/admin.endorse.H; a
 *     center follows every endorsement made by its pinned key to the
 *     admin.key of the endorsed SHA-256, of the same appliance, and
 *     pins that one, as often as there are such endorsements.
 *
 * Every pin is journaled (center_journal) and mailed (center_mail).
 * Callers hold the area's apply lock (center_apply.c) so that two runs
 * never pin at once.
 */
#ifndef BEEMO_CENTER_PIN_H
#define BEEMO_CENTER_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "center.h"
#include "keymgr.h"

/* The pinned key: the admin.key file image, its SHA-256 and the
 * appliance id it names. */
struct center_pin {
	uint8_t *key;   /* malloc'd */
	size_t len;
	uint8_t sha[KEYMGR_DIGEST_LEN];
	char hex[2 * KEYMGR_DIGEST_LEN + 1];
	uint8_t appliance[KEYMGR_ID_LEN];
	char appliance_hex[2 * KEYMGR_ID_LEN + 1];
};

/*
 * center_pin_load -- read AREA/state/admin.pin into @p.
 * Returns 0, -ENOENT (no pin yet), BEEMO_EFORMAT (not an admin.key),
 * or a negative errno.  Free with center_pin_free() (also on error).
 */
int center_pin_load(const struct center_area *a, struct center_pin *p);
void center_pin_free(struct center_pin *p);

/*
 * center_pin_update -- the pin of area @a after the first pin and
 * every endorsement the area holds (see above), into @p.  @dry_run:
 * decide but write, journal and mail nothing.  @err receives why
 * there is no pin when the result is -ENOENT.
 * Returns 0, -ENOENT (nothing pinned: no admin.key or several), or an
 * error (logged).
 */
int center_pin_update(const struct center_ctx *ctx,
    const struct center_area *a, int dry_run, struct center_pin *p,
    char *err, size_t errlen);

/*
 * center_area_find -- open the area @name (a path when it has a '/',
 * else a directory of ctx->root) into @a, with center_area_open().
 * Errors are printed.  Returns its result.
 */
int center_area_find(const struct center_ctx *ctx, const char *name,
    struct center_area *a);

/*
 * center_lock -- flock() AREA/state/apply.lock exclusively (waits for
 * another apply or pin of the area).  @fd receives the descriptor to
 * close.  Returns 0 or a negative errno.
 */
int center_lock(const struct center_area *a, int *fd);

/*
 * center_read -- read the regular file @path (never through a symbolic
 * link: the appliance wrote what is under data/) of at most @max bytes
 * into a malloc'd @out of @len bytes (NUL-terminated one past).
 * Returns 0, -ELOOP (a link), -EINVAL (not a regular file), -EFBIG,
 * -ENOMEM, or a negative errno.
 */
int center_read(const char *path, size_t max, uint8_t **out, size_t *len);

#endif /* BEEMO_CENTER_PIN_H */
