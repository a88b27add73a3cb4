/*
 * sync_choose.c -- which state `beemo-sync recover` takes from a target.
 *
 * Everything a center returns is untrusted until the off-site key K_OFF
 * vouches for it, and K_OFF comes only out of an admin.key that opens
 * with the administrator's password (keymgr_offsite_unlock): the center
 * holds admin.key but not the password, so it can neither read K_OFF nor
 * make or alter an admin.key that the password opens.  A manifest is
 * taken when
 *
 *   1. the admin.key it lists has the SHA-256 it gives,
 *   2. that admin.key opens with the password, gives K_OFF and the
 *      manifest's appliance id,
 *   3. its mac is right under that K_OFF (sync_manifest_authentic), and
 *   4. every object it lists is on the target with its size;
 *
 * every other object is then checked against the SHA-256 the manifest
 * gives while it is downloaded.  Candidates are tried newest first by
 * their claimed push number (a forged number only makes a forgery be
 * tried, and refused, first); each one refused is named with the reason.
 * The result of opening an admin.key is kept by its SHA-256, so that
 * the password's scrypt runs once per distinct admin.key.
 *
 * The highest push number among the authentic manifests seen (those
 * newer than --at, or incomplete, included) is reported too: the next
 * push of the recovered appliance must be newer than every state it
 * leaves behind at the target, or a later recovery would take one of
 * those over the new pushes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "sync.h"

/* An admin.key already tried. */
struct opened {
	uint8_t sha[SYNC_HASH_LEN];
	int rc;                         /* of keymgr_offsite_unlock */
	char appliance[2 * KEYMGR_ID_LEN + 1];
	uint8_t koff[KEYMGR_OFFSITE_LEN];
};

struct chooser {
	sync_conn *c;
	const char *target;
	const char *pw;
	size_t pwlen;
	struct opened *o;               /* cleansed at the end */
	size_t no;
	size_t nopened;                 /* admin.key files that opened */
};

/* Open the admin.key that @m lists with the password, once per file.
 * @why: the reason when it cannot be used.  Returns the entry or NULL. */
static const struct opened *
open_admin_key(struct chooser *ch, const struct sync_manifest *m,
    char *why, size_t whysz)
{
	const struct sync_obj *k = NULL;
	uint8_t *buf = NULL, sha[SYNC_HASH_LEN], id[KEYMGR_ID_LEN];
	struct opened *e, *nv;
	size_t i;
	int rc;

	for (i = 0; i < m->objs.n; i++)
		if (!strncmp(m->objs.v[i].path, "keys/admin.key.", 15))
			k = &m->objs.v[i];
	if (k == NULL) {
		snprintf(why, whysz, "it lists no admin.key");
		return NULL;
	}
	for (i = 0; i < ch->no; i++)
		if (!memcmp(ch->o[i].sha, k->sha, sizeof(k->sha)))
			goto found;
	if ((rc = sync_remote_get(ch->c, k->path, k->size, -1, &buf, NULL,
	    sha)) != 0) {
		snprintf(why, whysz, "cannot read %s: %s", k->path,
		    beemo_strerror(rc));
		return NULL;
	}
	if (memcmp(sha, k->sha, sizeof(sha)) != 0) {
		free(buf);
		snprintf(why, whysz, "%s differs from its SHA-256 in the "
		    "manifest", k->path);
		return NULL;
	}
	if ((nv = realloc(ch->o, (ch->no + 1) * sizeof(*nv))) == NULL) {
		free(buf);
		snprintf(why, whysz, "%s", beemo_strerror(-ENOMEM));
		return NULL;
	}
	ch->o = nv;
	e = &ch->o[ch->no++];
	memset(e, 0, sizeof(*e));
	memcpy(e->sha, sha, sizeof(sha));
	e->rc = keymgr_offsite_unlock(buf, k->size, ch->pw, ch->pwlen, id,
	    e->koff);
	free(buf);
	if (e->rc == 0) {
		bm_hex(e->appliance, id, sizeof(id));
		ch->nopened++;
	}
found:
	e = &ch->o[i];
	switch (e->rc) {
	case 0:
		return e;
	case BEEMO_EPASSWORD:
		snprintf(why, whysz, "its admin.key does not open with this "
		    "password");
		break;
	case BEEMO_ENOKEY:
		snprintf(why, whysz, "its admin.key is of version 1 and "
		    "holds no off-site key");
		break;
	default:
		snprintf(why, whysz, "its admin.key: %s",
		    beemo_strerror(e->rc));
	}
	return NULL;
}

/* Steps 1 to 3 for the manifest @text of @e.  Returns 1 (authentic, with
 * its K_OFF in @koff) or 0 (@why says why not). */
static int
authentic(struct chooser *ch, const char *text, size_t len,
    const struct sync_manifest *m, uint8_t koff[KEYMGR_OFFSITE_LEN],
    char *why, size_t whysz)
{
	const struct opened *o;
	int rc;

	if ((o = open_admin_key(ch, m, why, whysz)) == NULL)
		return 0;
	if (strcmp(o->appliance, m->appliance) != 0) {
		snprintf(why, whysz, "its admin.key is of appliance %s",
		    o->appliance);
		return 0;
	}
	if ((rc = sync_manifest_authentic(text, len, o->koff)) != 0) {
		snprintf(why, whysz, "%s", rc == -EBADMSG ? "wrong mac" :
		    beemo_strerror(rc));
		return 0;
	}
	memcpy(koff, o->koff, KEYMGR_OFFSITE_LEN);
	return 1;
}

/* A state newer than --at: not taken, but its push number, once
 * authenticated, is one the next push must exceed.  Returns 0 or a
 * connection error. */
static int
note_newer(struct chooser *ch, const struct sync_mentry *e, uint64_t *newest)
{
	uint8_t koff[KEYMGR_OFFSITE_LEN];
	struct sync_manifest m;
	char *text = NULL, why[256];
	size_t len;
	int rc;

	if (e->version < 2 || e->counter <= *newest)
		return 0;
	if ((rc = sync_manifest_get(ch->c, e, &text, &len, &m)) != 0)
		return sync_conn_broken(ch->c) ? rc : 0;
	if (m.version >= 2 && authentic(ch, text, len, &m, koff, why,
	    sizeof(why)) && m.counter > *newest)
		*newest = m.counter;
	OPENSSL_cleanse(koff, sizeof(koff));
	free(text);
	sync_manifest_free(&m);
	return 0;
}

int
sync_choose(sync_conn *c, const char *target, const char *pw, size_t pwlen,
    uint64_t at, int accept_v1, struct sync_manifest *out, char *name,
    size_t namesz, uint8_t koff[KEYMGR_OFFSITE_LEN], int *is_authentic,
    uint64_t *newest)
{
	struct chooser ch = {c, target, pw, pwlen, NULL, 0, 0};
	struct sync_mlist ml = {0};
	size_t i, missing, nv1 = 0, nv2 = 0;
	char why[256];
	int rc, ok = 0;

	memset(out, 0, sizeof(*out));
	*is_authentic = 0;
	*newest = 0;
	if ((rc = sync_manifest_list(c, &ml)) != 0)
		return rc;
	for (i = 0; i < ml.n && !ok; i++) {
		const struct sync_mentry *e = &ml.v[i];
		struct sync_manifest m;
		char *text = NULL;
		size_t len;

		if (*e->bad) {
			sync_log(LOG_WARNING, "target %s: %s is %s: ignored",
			    target, e->name, e->bad);
			continue;
		}
		if (at != 0 && sync_mentry_time(e) > at) {
			if ((rc = note_newer(&ch, e, newest)) != 0)
				goto done;
			continue;
		}
		if ((rc = sync_manifest_get(c, e, &text, &len, &m)) != 0) {
			if (sync_conn_broken(c))
				goto done;
			sync_log(LOG_WARNING, "target %s: %s: %s: ignored",
			    target, e->name, beemo_strerror(rc));
			continue;
		}
		if (m.version < 2) {
			nv1++;
			if (!accept_v1) {
				sync_log(LOG_WARNING, "manifest %s at center "
				    "%s is of version 1, which nothing "
				    "authenticates: ignored", e->name, target);
				goto next;
			}
		} else {
			nv2++;
			if (!authentic(&ch, text, len, &m, koff, why,
			    sizeof(why))) {
				sync_log(LOG_WARNING, "manifest %s at center "
				    "%s is not authentic (%s): ignored",
				    e->name, target, why);
				goto next;
			}
		}
		rc = sync_manifest_complete(c, &m, &missing);
		if (m.version >= 2 && m.counter > *newest)
			*newest = m.counter;
		if (rc == -ENOENT) {
			sync_log(LOG_WARNING, "target %s: %s lists %zu "
			    "objects that are missing or of the wrong size; "
			    "trying an older manifest", target, e->name,
			    missing);
		} else if (rc != 0) {
			free(text);
			sync_manifest_free(&m);
			goto done;
		} else {
			ok = 1;
			*is_authentic = m.version >= 2;
			*out = m;
			memset(&m, 0, sizeof(m));
			snprintf(name, namesz, "%s", e->name);
		}
next:
		free(text);
		sync_manifest_free(&m);
	}
	rc = 0;
	if (ok)
		goto done;
	rc = -ENOENT;
	if (nv2 > 0 && ch.nopened == 0) {
		sync_log(LOG_ERR, "target %s: the administrator password opens "
		    "none of its admin.key files: a wrong password, or "
		    "admin.key files forged", target);
		rc = BEEMO_EPASSWORD;
	} else if (nv1 > 0 && !accept_v1) {
		sync_log(LOG_ERR, "target %s: %zu manifest%s of version 1, "
		    "which nothing authenticates (pushed before the off-site "
		    "key): not used; --accept-unauthenticated takes them if "
		    "you trust the center", target, nv1, nv1 > 1 ? "s are" :
		    " is");
	}
	sync_log(LOG_ERR, "target %s: no complete manifest found that this "
	    "appliance authenticated%s", target, at ? " (at that time)" : "");
done:
	if (ch.o != NULL) {
		OPENSSL_cleanse(ch.o, ch.no * sizeof(*ch.o));
		free(ch.o);
	}
	sync_mlist_free(&ml);
	if (!ok)
		OPENSSL_cleanse(koff, KEYMGR_OFFSITE_LEN);
	return rc;
}
