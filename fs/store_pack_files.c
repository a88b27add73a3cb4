/*
 * store_pack_files.c -- pack files as a whole: recovery at open (cutting
 * a pack back to its committed length, sweeping uncommitted ones,
 * removing dropped ones),
 * walking a pack object by object, listing the packs of a store, and
 * the names of pack files.  See store_pack.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_log.h"
#include "bm_file.h"
#include "store_pack.h"

/* ---- recovery at open -------------------------------------------------- */

int
pack_cut(struct packs *pk, uint64_t id, uint64_t size)
{
	char path[4096];
	int fd, rc = 0;

	if (pack_path(pk, id, 1, path, sizeof(path)) != 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (ftruncate(fd, (off_t)size) != 0 || fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0)
		rc = pack_finalize(pk, id);
	return rc;
}

int
pack_remove(struct packs *pk, uint64_t id)
{
	char path[4096];
	int open, rc = 0;

	pack_fd_forget(pk, id);
	for (open = 0; open < 2; open++) {
		if (pack_path(pk, id, open, path, sizeof(path)) != 0)
			return -ENAMETOOLONG;
		if (unlink(path) == 0)
			bm_log(LOG_INFO, "%s: dropped by a prune: removed",
			    path);
		else if (errno != ENOENT && rc == 0)
			rc = -errno;
	}
	return rc;
}

/*
 * Remove the packs that no commit ever recorded: a pack is born
 * ID.pack.open and becomes ID.pack only after a commit recorded it
 * closed, and every commit records the next pack number, so only
 * ".open" files unknown to the index, from the next pack number on, are
 * garbage (a crash before their first commit).  One below it that the
 * index does not know was abandoned after a failed commit (pack_abandon)
 * or lost its record: left alone, and said.  A closed pack the index
 * does not know means an index older than the packs, which the commit
 * path refuses before this runs (store_commit.h,
 * commit_check_rollback); it is never removed here.
 */
int
pack_sweep(struct packs *pk, int (*known)(void *ctx, uint64_t id), void *ctx)
{
	char path[4096];
	unsigned sub;
	int rc = 0;

	for (sub = 0; sub < 256; sub++) {
		DIR *d;
		struct dirent *de;

		if (bm_path(path, sizeof(path), "%s/packs/%02x", pk->dir, sub))
			return -ENAMETOOLONG;
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char file[4096];
			uint64_t id;
			int open;

			if (pack_name_parse(de->d_name, &id, &open) != 0 ||
			    !open || known(ctx, id))
				continue;
			if (bm_path(file, sizeof(file), "%s/%s", path,
			    de->d_name) != 0)
				continue;
			if (id < pk->next_pack) {
				bm_log(LOG_WARNING, "%s: an open pack the "
				    "index does not know (left alone; "
				    "beemoctl check)", file);
				continue;
			}
			bm_log(LOG_INFO, "removing uncommitted pack %s", file);
			if (unlink(file) != 0)
				rc = -errno;
		}
		closedir(d);
	}
	return rc;
}

/* ---- the log objects of a pack ------------------------------------------- */

int
pack_logs(struct packs *pk, uint64_t id, int is_open, uint64_t from,
    uint64_t to, pack_lsn_fn fn, void *ctx)
{
	uint8_t hdr[PACK_HDR_LEN], *raw = NULL, *plain;
	char path[4096];
	struct obj_hdr h;
	struct stat sb;
	uint64_t off = from < PACK_HDR_LEN ? PACK_HDR_LEN : from;
	int fd, rc;

	if ((rc = pack_path(pk, id, is_open, path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto done;
	}
	if (to > (uint64_t)sb.st_size)
		to = (uint64_t)sb.st_size;
	/* Not a pack of this machine: nothing of ours to find in it. */
	if (pack_pread_all(fd, hdr, sizeof(hdr), 0) != 0 ||
	    pack_hdr_check(hdr, pk->machine_id) != 0)
		goto done;
	while (off < to && to - off >= OBJ_HDR_LEN) {
		uint8_t head[OBJ_HDR_LEN];
		uint64_t len;

		if (pack_pread_all(fd, head, sizeof(head), off) != 0 ||
		    obj_hdr_decode(&h, head) != 0)
			break; /* torn or garbage: nothing more */
		len = OBJ_HDR_LEN + (uint64_t)h.stored_len + OBJ_TAG_LEN;
		if (to - off < len)
			break;
		if (h.type == OBJ_LOG || h.type == OBJ_CKPT) {
			if ((raw = malloc(len)) == NULL) {
				rc = -ENOMEM;
				goto done;
			}
			rc = pack_pread_all(fd, raw, len, off);
			if (rc == 0 &&
			    obj_open(pk->keys, &h, raw, &plain) == 0) {
				struct log_place lp;

				OPENSSL_cleanse(plain, h.plain_len);
				free(plain);
				obj_log_place(&h, &lp);
				rc = fn(ctx, id, &lp);
			}
			free(raw);
			raw = NULL;
			if (rc != 0)
				goto done;
		}
		off += len;
	}
	rc = 0;
done:
	close(fd);
	return rc;
}

/* ---- walking a pack ------------------------------------------------------ */

int
pack_walk(const uint8_t machine[KEYMGR_ID_LEN], const char *path,
    uint64_t id, pack_walk_fn fn, void *ctx, uint64_t *valid_end)
{
	uint8_t hdr[PACK_HDR_LEN], *raw = NULL;
	struct obj_hdr h;
	struct stat sb;
	uint64_t off = PACK_HDR_LEN;
	size_t cap = 0;
	int fd, rc = 0;

	*valid_end = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto done;
	}
	if (pack_pread_all(fd, hdr, sizeof(hdr), 0) != 0) {
		bm_log(LOG_ERR, "%s: not a pack file", path);
		rc = BEEMO_EFORMAT;
		goto done;
	}
	switch ((rc = pack_hdr_check(hdr, machine))) {
	case 0:
		break;
	case BEEMO_EFOREIGN:
		bm_log(LOG_ERR, "%s: pack of another machine", path);
		goto done;
	case BEEMO_EVERSION:
		goto done;
	default:
		bm_log(LOG_ERR, "%s: %s", path, memcmp(hdr, PACK_MAGIC, 8) ?
		    "not a pack file" : "pack header has unknown flags");
		goto done;
	}
	*valid_end = off;
	while (off < (uint64_t)sb.st_size) {
		size_t len;

		if ((uint64_t)sb.st_size - off < OBJ_HDR_LEN) {
			rc = -EIO;
			bm_log(LOG_ERR, "%s: truncated at offset %" PRIu64, path,
			    off);
			break;
		}
		if (cap < OBJ_HDR_LEN) {
			free(raw);
			cap = 1U << 20;
			if ((raw = malloc(cap)) == NULL) {
				rc = -ENOMEM;
				break;
			}
		}
		if ((rc = pack_pread_all(fd, raw, OBJ_HDR_LEN, off)) != 0)
			break;
		if (obj_hdr_decode(&h, raw) != 0) {
			bm_log(LOG_ERR, "%s: malformed object header at offset "
			    "%" PRIu64, path, off);
			rc = BEEMO_EFORMAT;
			break;
		}
		len = OBJ_HDR_LEN + (size_t)h.stored_len + OBJ_TAG_LEN;
		if ((uint64_t)sb.st_size - off < len) {
			bm_log(LOG_ERR, "%s: truncated at offset %" PRIu64, path,
			    off);
			rc = -EIO;
			break;
		}
		if (len > cap) {
			uint8_t *n = realloc(raw, len);

			if (n == NULL) {
				rc = -ENOMEM;
				break;
			}
			raw = n;
			cap = len;
		}
		rc = pack_pread_all(fd, raw + OBJ_HDR_LEN, len - OBJ_HDR_LEN,
		    off + OBJ_HDR_LEN);
		if (rc != 0)
			break;
		if ((rc = fn(ctx, id, off, &h, raw)) != 0)
			break;
		off += len;
		*valid_end = off;
	}
done:
	free(raw);
	close(fd);
	return rc;
}

int
pack_list(const char *dir, uint64_t **ids, int **open, size_t *n)
{
	char path[4096];
	uint64_t *v = NULL;
	int *o = NULL;
	size_t cnt = 0;
	unsigned sub;

	for (sub = 0; sub < 256; sub++) {
		DIR *d;
		struct dirent *de;

		if (bm_path(path, sizeof(path), "%s/packs/%02x", dir, sub))
			return -ENAMETOOLONG;
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char *end;
			uint64_t id = strtoull(de->d_name, &end, 16);
			int is_open;
			void *nv, *no;

			if (end != de->d_name + 16)
				continue;
			if (!strcmp(end, ".pack"))
				is_open = 0;
			else if (!strcmp(end, ".pack.open"))
				is_open = 1;
			else
				continue;
			nv = realloc(v, (cnt + 1) * sizeof(*v));
			no = nv ? realloc(o, (cnt + 1) * sizeof(*o)) : NULL;
			if (nv != NULL)
				v = nv;
			if (no == NULL) {
				closedir(d);
				free(v);
				free(o);
				return -ENOMEM;
			}
			o = no;
			v[cnt] = id;
			o[cnt++] = is_open;
		}
		closedir(d);
	}
	*ids = v;
	*open = o;
	*n = cnt;
	return 0;
}

/* ---- file names ---------------------------------------------------------- */

int
pack_name_parse(const char *name, uint64_t *id, int *open)
{
	if (!bm_is_lower_hex(name, 16))
		return BEEMO_EFORMAT;
	if (!strcmp(name + 16, ".pack"))
		*open = 0;
	else if (!strcmp(name + 16, ".pack.open"))
		*open = 1;
	else
		return BEEMO_EFORMAT;
	*id = strtoull(name, NULL, 16);
	return 0;
}

int
pack_relpath_parse(const char *rel, uint64_t *id)
{
	int open;

	if (strncmp(rel, "packs/", 6) != 0 || !bm_is_lower_hex(rel + 6, 2) ||
	    rel[8] != '/' || pack_name_parse(rel + 9, id, &open) != 0 ||
	    open || memcmp(rel + 6, rel + 23, 2) != 0)
		return BEEMO_EFORMAT;
	return 0;
}
