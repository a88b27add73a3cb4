/*
 * bm_gcm.h -- AES-256-GCM for small sealed records (base library, see
 * bm_err.h).
 *
 * The one AES-GCM helper of the key store and of the appliance records
 * (journal, report spool, sealed files).  It holds no state: each call
 * builds and frees its own OpenSSL context, which cleanses the key
 * schedule.  Thread-safe.  Choosing a fresh nonce per seal under a key is
 * the caller's duty.
 */
#ifndef BEEMO_BM_GCM_H
#define BEEMO_BM_GCM_H

#include <stddef.h>
#include <stdint.h>

#define BM_GCM_KEY_LEN 32
#define BM_GCM_IV_LEN 12
#define BM_GCM_TAG_LEN 16

/*
 * bm_gcm -- AES-256-GCM with the 12-byte @iv and the associated data
 * @aad1 || @aad2 (either may be NULL with length 0).
 * @enc nonzero: seal @n bytes of @in into @out and write the 16-byte tag
 *   after them (@out holds @n + 16 bytes).
 * @enc zero: open @in (its tag after its @n bytes) into @out (@n bytes);
 *   when the tag does not verify, @out is cleansed: unauthenticated
 *   plaintext never leaves.
 * @in and @out may be the same buffer.
 * Returns 0, -EBADMSG (damaged or forged), -EINVAL (a length over 2^31),
 * -ENOMEM or -EIO.
 */
int bm_gcm(int enc, const uint8_t key[BM_GCM_KEY_LEN],
    const uint8_t iv[BM_GCM_IV_LEN], const void *aad1, size_t aad1len,
    const void *aad2, size_t aad2len, const uint8_t *in, size_t n,
    uint8_t *out);

#endif /* BEEMO_BM_GCM_H */
