/*
 * retention_file.c -- the signed policy files (retention.h).
 *
 * A file is lines of text (beemo-store(5), RETENTION POLICIES):
 *
 *   beemo-retention 1
 *   machine NAME            ("default" alone for the default)
 *   set SECONDS             (when the administrator set it, UTC epoch)
 *   RULE VALUE              (each rule at most once; min-age always)
 *   signature HEX           (768 hex digits)
 *
 * The signature covers every byte before the "signature" line, so the
 * machine, the time and every rule are authenticated together; the
 * signature is checked before anything else of the file is believed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_time.h"
#include "retention.h"

#define MAGIC "beemo-retention"
#define VERSION 1
#define FILE_MAX 4096
#define SIG_PREFIX "signature "
#define RULES_MAX 8 /* the rules retention_rule_set() knows */

int
retention_encode(const struct retention_policy *p, const char *machine,
    uint64_t set_ns, keymgr_admin_key *k, char **out, size_t *len)
{
	static const char *const keys[] = {"keep-last", "keep-within",
	    "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
	    "keep-yearly"};
	const uint32_t counts[] = {p->last, 0, p->hourly, p->daily,
	    p->weekly, p->monthly, p->yearly};
	uint8_t sig[KEYMGR_SIG_LEN];
	char *buf, d[32];
	size_t at, i, size = FILE_MAX;
	int rc;

	*out = NULL;
	if (machine != NULL && !bm_valid_name(machine))
		return -EINVAL;
	if ((buf = malloc(size)) == NULL)
		return -ENOMEM;
	at = (size_t)snprintf(buf, size, "%s %d\n%s%s\nset %" PRIu64 "\n",
	    MAGIC, VERSION, machine ? "machine " : "default",
	    machine ? machine : "", set_ns / 1000000000u);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (i == 1 && (p->within.years | p->within.months |
		    p->within.days | p->within.hours) != 0)
			at += (size_t)snprintf(buf + at, size - at, "%s %s\n",
			    keys[i], retention_duration_str(&p->within, d,
			    sizeof(d)));
		else if (counts[i] != 0)
			at += (size_t)snprintf(buf + at, size - at, "%s %u\n",
			    keys[i], counts[i]);
	}
	at += (size_t)snprintf(buf + at, size - at, "min-age %s\n",
	    retention_duration_str(&p->min_age, d, sizeof(d)));
	if ((rc = keymgr_admin_key_sign(k, RETENTION_SIGN_LABEL,
	    (const uint8_t *)buf, at, sig)) != 0) {
		free(buf);
		return rc;
	}
	memcpy(buf + at, SIG_PREFIX, strlen(SIG_PREFIX));
	at += strlen(SIG_PREFIX);
	bm_hex(buf + at, sig, sizeof(sig));
	at += 2 * sizeof(sig);
	buf[at++] = '\n';
	buf[at] = '\0';
	*out = buf;
	*len = at;
	return 0;
}

static int
fail(char *err, size_t size, int rc, const char *msg)
{
	if (err != NULL)
		snprintf(err, size, "%s", msg);
	return rc;
}

/* Split the signed body from the signature line. */
static int
split(const char *text, size_t len, size_t *body, uint8_t *sig)
{
	size_t siglen = strlen(SIG_PREFIX) + 2 * KEYMGR_SIG_LEN + 1;
	char hex[2 * KEYMGR_SIG_LEN + 1];
	const char *line;

	if (len < siglen || text[len - 1] != '\n')
		return BEEMO_EFORMAT;
	line = text + len - siglen;
	if ((line != text && line[-1] != '\n') ||
	    memcmp(line, SIG_PREFIX, strlen(SIG_PREFIX)) != 0)
		return BEEMO_EFORMAT;
	line += strlen(SIG_PREFIX);
	memcpy(hex, line, 2 * KEYMGR_SIG_LEN);
	hex[2 * KEYMGR_SIG_LEN] = '\0';
	if (!bm_is_lower_hex(hex, 2 * KEYMGR_SIG_LEN) ||
	    bm_unhex(sig, KEYMGR_SIG_LEN, hex) != 0)
		return BEEMO_EFORMAT;
	*body = len - siglen;
	return 0;
}

/* Parse the (authenticated) body, NUL-terminated in @buf, which it
 * changes.  @scope receives the machine named, or "" for the default. */
static int
parse(char *buf, struct retention_policy *p, uint64_t *set_s, char *scope,
    size_t scopesize, char *err, size_t errsize)
{
	char *line, *next, *val, *end;
	const char *seen[RULES_MAX];
	size_t i, nseen = 0;
	unsigned nline = 0;
	int version;

	retention_policy_init(p);
	for (line = buf; *line != '\0'; line = next, nline++) {
		if ((next = strchr(line, '\n')) == NULL)
			return fail(err, errsize, BEEMO_EFORMAT,
			    "a line does not end");
		*next++ = '\0';
		if (nline == 0) {
			if (sscanf(line, MAGIC " %d", &version) != 1)
				return fail(err, errsize, BEEMO_EFORMAT,
				    "not a retention policy file");
			if (version != VERSION)
				return fail(err, errsize, BEEMO_EVERSION,
				    "a policy format this version does not "
				    "read");
			continue;
		}
		if (nline == 1) {
			if (strcmp(line, "default") == 0) {
				scope[0] = '\0';
			} else if (strncmp(line, "machine ", 8) == 0 &&
			    bm_valid_name(line + 8) &&
			    strlen(line + 8) < scopesize) {
				memcpy(scope, line + 8, strlen(line + 8) + 1);
			} else {
				return fail(err, errsize, BEEMO_EFORMAT,
				    "no machine named");
			}
			continue;
		}
		if ((val = strchr(line, ' ')) == NULL)
			return fail(err, errsize, BEEMO_EFORMAT,
			    "a line without a value");
		*val++ = '\0';
		if (nline == 2) {
			errno = 0;
			*set_s = strtoull(val, &end, 10);
			if (strcmp(line, "set") != 0 || errno != 0 ||
			    *end != '\0' || end == val ||
			    *set_s > UINT64_MAX / 1000000000u)
				return fail(err, errsize, BEEMO_EFORMAT,
				    "no time of setting");
			continue;
		}
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], line) == 0)
				return fail(err, errsize, BEEMO_EFORMAT,
				    "a rule is given twice");
		if (retention_rule_set(p, line, val) != 0)
			return fail(err, errsize, BEEMO_EFORMAT,
			    "a rule is unknown or its value bad");
		/* Known rules are few: seen[] cannot overflow. */
		seen[nseen++] = line;
	}
	if (nline < 3)
		return fail(err, errsize, BEEMO_EFORMAT, "the file is cut");
	return 0;
}

int
retention_decode(keymgr *km, const char *text, size_t len,
    const char *machine, struct retention_policy *p, uint64_t *set_ns,
    char *err, size_t errsize)
{
	uint8_t sig[KEYMGR_SIG_LEN];
	char scope[80], *buf;
	uint64_t set_s = 0;
	size_t body;
	int rc;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (len > FILE_MAX || memchr(text, '\0', len) != NULL)
		return fail(err, errsize, BEEMO_EFORMAT,
		    "not a retention policy file");
	if (split(text, len, &body, sig) != 0)
		return fail(err, errsize, BEEMO_EFORMAT, "it is not signed "
		    "by the administrator (no signature line)");
	rc = keymgr_admin_verify(km, RETENTION_SIGN_LABEL,
	    (const uint8_t *)text, body, sig, sizeof(sig));
	if (rc == -EBADMSG)
		return fail(err, errsize, rc, "its signature is not the "
		    "administrator's over this text (changed or forged)");
	if (rc != 0)
		return fail(err, errsize, rc, beemo_strerror(rc));
	if ((buf = malloc(body + 1)) == NULL)
		return -ENOMEM;
	memcpy(buf, text, body);
	buf[body] = '\0';
	rc = parse(buf, p, &set_s, scope, sizeof(scope), err, errsize);
	free(buf);
	if (rc != 0)
		return rc;
	if (machine == NULL ? scope[0] != '\0' : strcmp(scope, machine) != 0) {
		if (err != NULL)
			snprintf(err, errsize, "it is signed for %s%s, not for "
			    "%s%s", scope[0] ? "machine " : "the default",
			    scope, machine ? "machine " : "the default",
			    machine ? machine : "");
		return BEEMO_EFOREIGN;
	}
	*set_ns = set_s * 1000000000u;
	return 0;
}

int
retention_path(const char *store, const char *machine, char *buf,
    size_t size)
{
	if (machine == NULL)
		return bm_path(buf, size, "%s/retention/default.policy",
		    store);
	return bm_path(buf, size, "%s/retention/machines/%s.policy", store,
	    machine);
}

/* Sign and write the file of @machine (NULL: default) as set at @set_ns. */
static int
save_at(const char *store, const char *machine,
    const struct retention_policy *p, keymgr_admin_key *k, uint64_t set_ns)
{
	char path[4096], dir[4096], *text = NULL;
	size_t len;
	int rc;

	if ((rc = retention_path(store, machine, path, sizeof(path))) != 0 ||
	    (rc = bm_path(dir, sizeof(dir), "%s/retention/machines",
	    store)) != 0)
		return rc;
	if ((rc = bm_mkdir_p(dir, 0700)) != 0)
		return rc;
	if ((rc = retention_encode(p, machine, set_ns, k, &text, &len)) != 0)
		return rc;
	rc = bm_write_file_atomic(path, text, len, 0600, 0);
	free(text);
	return rc;
}

int
retention_save(const char *store, const char *machine,
    const struct retention_policy *p, keymgr_admin_key *k)
{
	return save_at(store, machine, p, k, bm_now_ns());
}

int
retention_clear(const char *store, const char *machine)
{
	char path[4096];
	int rc;

	if ((rc = retention_path(store, machine, path, sizeof(path))) != 0)
		return rc;
	if (unlink(path) != 0)
		return -errno;
	return bm_fsync_dir(path);
}

int
retention_load_file(const char *store, const char *machine, keymgr *km,
    struct retention_policy *p, uint64_t *set_ns, char *err,
    size_t errsize)
{
	char path[4096], why[256];
	uint8_t *text = NULL;
	size_t len;
	int rc;

	if ((rc = retention_path(store, machine, path, sizeof(path))) != 0)
		return rc;
	rc = bm_read_file(path, FILE_MAX, &text, &len);
	if (rc == -ENOENT)
		return rc;
	if (rc == -EFBIG)
		rc = BEEMO_EFORMAT;
	if (rc == 0)
		rc = retention_decode(km, (const char *)text, len, machine, p,
		    set_ns, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", beemo_strerror(rc));
	free(text);
	if (rc != 0 && err != NULL)
		snprintf(err, errsize, "%s: refused: %s", path, why);
	return rc;
}

int
retention_load(const char *store, const char *machine, keymgr *km,
    struct retention_policy *p, int *from_default, uint64_t *set_ns,
    char *err, size_t errsize)
{
	uint64_t set = 0;
	int rc, dflt = 0;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	rc = retention_load_file(store, machine, km, p, &set, err, errsize);
	if (rc == -ENOENT) {
		dflt = 1;
		rc = retention_load_file(store, NULL, km, p, &set, err,
		    errsize);
	}
	if (rc == -ENOENT && err != NULL)
		snprintf(err, errsize, "no retention policy for machine %s "
		    "and no default", machine);
	if (from_default != NULL)
		*from_default = dflt;
	if (set_ns != NULL)
		*set_ns = set;
	return rc;
}

/* A policy file's name: NAME.policy with a valid machine name. */
static int
policy_name(const char *name)
{
	size_t len = strlen(name);
	char m[80];

	if (len <= 7 || len - 7 >= sizeof(m) ||
	    strcmp(name + len - 7, ".policy") != 0)
		return 0;
	memcpy(m, name, len - 7);
	m[len - 7] = '\0';
	return bm_valid_name(m);
}

int
retention_collect(const char *store, keymgr *km,
    struct retention_file **out, size_t *n, size_t *refused)
{
	struct retention_file *v = NULL;
	char dir[4096], err[600], **names = NULL;
	size_t nn = 0, i, k = 0;
	int rc;

	*out = NULL;
	*n = *refused = 0;
	if ((rc = bm_path(dir, sizeof(dir), "%s/retention/machines",
	    store)) != 0 ||
	    (rc = bm_list_dir(dir, policy_name, &names, &nn)) != 0)
		return rc;
	if ((v = calloc(nn + 1, sizeof(*v))) == NULL) {
		bm_names_free(names, nn);
		return -ENOMEM;
	}
	/* The default (i == 0), then each machine. */
	for (i = 0; i <= nn; i++) {
		const char *m = NULL;

		if (i > 0) {
			m = names[i - 1];
			names[i - 1][strlen(m) - 7] = '\0';
		}
		rc = retention_load_file(store, m, km, &v[k].p, &v[k].set_ns,
		    err, sizeof(err));
		if (rc == -ENOENT)
			continue;
		if (rc != 0) {
			bm_log(LOG_WARNING, "%s", err);
			(*refused)++;
			continue;
		}
		snprintf(v[k].machine, sizeof(v[k].machine), "%s",
		    m ? m : "");
		k++;
	}
	bm_names_free(names, nn);
	*out = v;
	*n = k;
	return 0;
}

int
retention_resign(const char *store, const struct retention_file *v,
    size_t n, keymgr_admin_key *k)
{
	size_t i;
	int rc, first = 0;

	for (i = 0; i < n; i++) {
		rc = save_at(store, v[i].machine[0] ? v[i].machine : NULL,
		    &v[i].p, k, v[i].set_ns);
		if (rc != 0) {
			bm_log(LOG_ERR, "the retention policy of %s could not "
			    "be signed again: %s", v[i].machine[0] ?
			    v[i].machine : "the default", beemo_strerror(rc));
			if (first == 0)
				first = rc;
		}
	}
	return first;
}
