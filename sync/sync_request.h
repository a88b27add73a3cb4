/*
 * sync_request.h -- deletion requests for the storage centers
 * (sync_request.c; signed by `beemo-sync release`, sync_release.c;
 * uploaded by `beemo-sync push`; checked by `beemo-sync verify`).
 *
 * A storage center never deletes what an appliance pushed unless the
 * administrator asks for it: a deletion request is a canonical JSON
 * file signed with ADMIN_PRIV (keymgr_admin_key_sign(), label
 * SYNC_REQUEST_LABEL), which a center checks with ADMIN_PUB from the
 * admin.key it holds.  So a compromised appliance, which has no
 * administrator's password, cannot make a center delete anything.
 *
 *   {"format": "beemo-delete-request", "version": 1,
 *    "appliance": "<32 hex>", "counter": <n>, "created": "<ISO 8601>",
 *    "created_ns": <ns>, "reason": "prune" | "machine-remove" |
 *    "superseded", "target": "<target name>",
 *    "objects": [{"path": "<remote path>", "sha256": "<64 hex>"}, ...],
 *    "signature": "<768 hex>"}
 *
 * The signature is over the whole text with its own 768 digits read as
 * '0's (the only '"signature":"' in the text).  "counter" numbers the
 * requests of the appliance (STORE/sync/requests/counter); the sha256
 * of each object is the one the manifests pushed to that target gave
 * it, so that a center deletes exactly the object that was pushed.
 *
 * `beemo-sync release` makes them (sync_release.c); `beemo-sync push`
 * uploads each as ROOT/requests/<16 hex counter>.req and lists it in
 * every later manifest to that target; nothing in beemo-sync ever
 * deletes a remote object.
 */
#ifndef BEEMO_SYNC_REQUEST_H
#define BEEMO_SYNC_REQUEST_H

#include <stdint.h>

#include "keymgr.h"
#include "sync.h"

#define SYNC_REQUEST_FORMAT "beemo-delete-request"
#define SYNC_REQUEST_VERSION 1
#define SYNC_REQUEST_LABEL "delete-request"

enum sync_reason {
	SYNC_REASON_PRUNE = 1,          /* a pack a prune dropped */
	SYNC_REASON_MACHINE_REMOVE,     /* a freed machine's objects */
	SYNC_REASON_SUPERSEDED,         /* an old key file or configuration */
	SYNC_REASON_N
};

/* sync_reason_name -- "prune", "machine-remove" or "superseded". */
const char *sync_reason_name(enum sync_reason r);

/* A request as parsed; objects have path, kind and sha only. */
struct sync_request {
	char appliance[2 * KEYMGR_ID_LEN + 1];
	uint64_t counter;
	uint64_t created_ns;
	enum sync_reason reason;
	char target[65];
	struct sync_objs objs;
};

/*
 * sync_request_build -- the signed request of appliance @appliance (hex)
 * number @counter (> 0), made at @ns, for @reason, to target @target,
 * naming @objs (at least one; each with its sha).  @k: the unlocked
 * administrator's key.  @out: receives a malloc'd text of @outlen bytes.
 * Returns 0, -EINVAL (no object, an object without sha, a bad target
 * name or counter), -ENOMEM, or an error of keymgr_admin_key_sign().
 */
int sync_request_build(keymgr_admin_key *k, const char *appliance,
    uint64_t counter, uint64_t ns, enum sync_reason reason,
    const char *target, const struct sync_objs *objs, char **out,
    size_t *outlen);

/*
 * sync_request_verify -- check the signature of the request text @text
 * (@len bytes) with ADMIN_PUB of @km.  Returns 0 (made by this
 * appliance's administrator, unchanged), -EBADMSG (not so: forged or
 * altered), BEEMO_EFORMAT (no signature in its canonical place), or an
 * error of keymgr_admin_verify().
 */
int sync_request_verify(keymgr *km, const char *text, size_t len);

/*
 * sync_request_verify_image -- the same with ADMIN_PUB of the admin.key
 * file image @key (@keylen bytes), for a storage center, which holds no
 * key directory (keymgr_image_verify()).  Returns 0, -EBADMSG,
 * BEEMO_EFORMAT (no signature in its place, or @key is no admin.key),
 * BEEMO_EVERSION, or -ENOMEM.
 */
int sync_request_verify_image(const uint8_t *key, size_t keylen,
    const char *text, size_t len);

/*
 * sync_request_parse -- parse and check a request: format, version,
 * appliance, counter, reason, target, at least one object, each path
 * by sync_path_classify() of a kind that may be deleted (pack,
 * store.id, key file, configuration), the form of the signature.  Does
 * not check the signature.  @r: free with sync_request_free() (also
 * after an error).  Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION, -ENOMEM.
 */
int sync_request_parse(const char *text, size_t len, struct sync_request *r);
void sync_request_free(struct sync_request *r);

/* What sync_request_select() asks about the appliance. */
enum { SYNC_MACHINE_CURRENT, SYNC_MACHINE_REMOVED, SYNC_MACHINE_GONE };
struct sync_oracle {
	/* SYNC_MACHINE_CURRENT (it has a key file or a store), _REMOVED
	 * (in the removed area: it may still be restored), _GONE (freed),
	 * or a negative error. */
	int (*machine_state)(void *ctx, const char *machine);
	/* 1 when a prune dropped pack @id of the current @machine (the
	 * store records it PACK_DROPPED), 0 if not, or a negative error. */
	int (*pack_dropped)(void *ctx, const char *machine, uint64_t id);
	void *ctx;
};

/*
 * sync_request_select -- the objects a request may name, by reason:
 * every candidate (@cands: objects a manifest pushed to the target
 * listed, with their sha) that is not in the appliance's current state
 * @current, not in @requested (named by an earlier request), and that
 * the appliance no longer needs: a pack @or says a prune dropped
 * (SYNC_REASON_PRUNE), any object of a machine that is gone
 * (SYNC_REASON_MACHINE_REMOVE; never one in the removed area), a key
 * file or configuration replaced by a newer one (SYNC_REASON_
 * SUPERSEDED).  Anything else (a pack missing for another reason, a
 * store.id of a current machine) is never named.  @out[reason]
 * receives the objects (appended; index 0 unused).
 * Returns 0, -ENOMEM, or an error of @or.
 */
int sync_request_select(const struct sync_objs *cands,
    const struct sync_objs *current, const struct sync_objs *requested,
    const struct sync_oracle *or, struct sync_objs out[SYNC_REASON_N]);

/*
 * Local files (STORE/sync/requests).
 * sync_request_store -- keep the signed request text as T/<16 hex
 *   @counter>.req for target @target until pushed (and after: every
 *   manifest to @target lists it).
 * sync_request_local -- append every request file of @target to @out
 *   as an object "requests/<16 hex>.req" (SYNC_REQUEST, in memory), and
 *   every cancellation as "requests/<16 hex>.cancel".
 * sync_request_cancel -- keep a cancellation of request @counter for
 *   @target as T/<16 hex @counter>.cancel until pushed (and after);
 *   with @need_request, only if T/<16 hex>.req is here (else -ENOENT,
 *   not logged).  A center that finds requests/N.cancel before N's due
 *   time never applies N.  Cancelling only keeps data: no password.
 * sync_request_named -- append every object that a request of
 *   @target names to @out (path, kind).
 * sync_unlisted_note -- remember the objects of @prev (the last
 *   manifest pushed to @target) that @cur (the next one) does not list:
 *   they are still at the center, and only the requests can say what
 *   happens to them.  sync_unlisted_load -- append them to @out.
 * All return 0, BEEMO_EFORMAT (a malformed file), or an error (logged).
 */
int sync_request_store(const struct sync_ctx *ctx, const char *target,
    uint64_t counter, const char *text, size_t len);
int sync_request_local(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out);
int sync_request_cancel(const struct sync_ctx *ctx, const char *target,
    uint64_t counter, int need_request);
int sync_request_named(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out);
int sync_unlisted_note(const struct sync_ctx *ctx, const char *target,
    const struct sync_objs *prev, const struct sync_objs *cur);
int sync_unlisted_load(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out);

/*
 * sync_request_awaiting -- how many objects sync_unlisted_load() gives
 * for @target that no request names yet: what `status` shows as
 * awaiting release (an upper bound: release names only those the
 * appliance no longer needs).  Returns 0 or an error (logged).
 */
int sync_request_awaiting(const struct sync_ctx *ctx, const char *target,
    uint64_t *n);

/*
 * sync_request_center_show -- print, for @target, what the center says
 * of the requests (ROOT/center/requests/N.json, written by
 * `beemo-center apply`): each one pending with its due time and how to
 * cancel it, each one refused with why, and how many were applied or
 * cancelled.  Nothing there is trusted: it is shown, never acted upon;
 * a malformed record is skipped.  A target without such records prints
 * nothing.  Returns 0 or a connection error (logged).
 */
int sync_request_center_show(sync_conn *c, const char *target);

#endif /* BEEMO_SYNC_REQUEST_H */
