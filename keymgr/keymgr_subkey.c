/*
 * keymgr_subkey.c -- keys for the appliance's own sealed records, derived
 * from the appliance key BEEMO_AES (see keymgr_appliance_subkey()).
 *
 * BEEMO_AES already seals the POSTE key files under the HKDF label
 * "beemo/v1/poste-key-file"; every other use gets its own label
 * "beemo/v1/appliance/LABEL", so that no two uses ever share a key.
 * The salt is the appliance id, as for the POSTE key file key.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "keymgr_internal.h"

/* A label is a short word: it becomes part of the HKDF info string. */
int
km_label_ok(const char *label)
{
	size_t i, n = strlen(label);

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((label[i] >= 'a' && label[i] <= 'z') ||
		    (label[i] >= '0' && label[i] <= '9') || label[i] == '-'))
			return 0;
	return 1;
}

int
keymgr_appliance_subkey(keymgr *km, const char *label,
    uint8_t out[KEYMGR_SECRET_LEN])
{
	struct km_appliance ap;
	char info[64];
	int rc;

	if (!km_label_ok(label))
		return km_done(km, km_err(km, -EINVAL, "'%s' is not a subkey "
		    "label", label));
	snprintf(info, sizeof(info), "beemo/v1/appliance/%s", label);
	if ((rc = km_load_appliance(km, &ap)) != 0)
		return km_done(km, rc);
	rc = km_hkdf(ap.beemo_aes, KM_AES_LEN, ap.appliance_id,
	    KEYMGR_ID_LEN, info, out);
	km_appliance_clear(&ap);
	if (rc != 0)
		OPENSSL_cleanse(out, KEYMGR_SECRET_LEN);
	return km_done(km, rc);
}
