/*
 * bm_sealed.h -- small files sealed with AES-256-GCM (records library,
 * see bm_jentry.h).
 *
 * Format: magic "BMSEALRP", be32 version 1, a random 12-byte nonce, the
 * ciphertext and the 16-byte tag; the magic, version and @label
 * ("spool", "report-state") are the associated data, so a file cannot
 * pass for another kind.  The report spool and the report state are kept
 * this way, so that no file name reaches the disk in clear.  No state;
 * thread-safe.
 */
#ifndef BEEMO_BM_SEALED_H
#define BEEMO_BM_SEALED_H

#include <stddef.h>
#include <stdint.h>

/*
 * bm_sealed_write -- seal @len bytes of @buf under @key into @path with
 * bm_write_file_atomic() (mode 0600, @exclusive as there).
 * Returns 0, -ENOMEM, -EIO, or a negative errno of the write.
 */
int bm_sealed_write(const char *path, const uint8_t key[32],
    const char *label, const void *buf, size_t len, int exclusive);

/*
 * bm_sealed_read -- open the sealed file @path; files over @maxlen are
 * refused.  *@out (NUL-terminated, caller frees) receives the plaintext
 * and *@outlen its length.
 * Returns 0, -EBADMSG (damaged, or another key or label), BEEMO_EFORMAT,
 * BEEMO_EVERSION, -EFBIG, or a negative errno.
 */
int bm_sealed_read(const char *path, const uint8_t key[32],
    const char *label, size_t maxlen, uint8_t **out, size_t *outlen);

#endif /* BEEMO_BM_SEALED_H */
