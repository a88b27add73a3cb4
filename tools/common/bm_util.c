/*
 * bm_util.c -- durable file writes, names, numbers, times.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm.h"

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bm_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	int fd, rc = 0;

	if (bm_path(dir, sizeof(dir), "%s", path) != 0)
		return -ENAMETOOLONG;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		slash = strrchr(dir, '/');
		if (slash == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
bm_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int exclusive)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (bm_path(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()))
		return -ENAMETOOLONG;
	if (exclusive && access(path, F_OK) == 0)
		return -EEXIST;
	/* A stale temporary of a killed process with our pid is garbage. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if ((rc = write_all(fd, buf, len)) != 0)
		goto fail_unlink;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail_unlink;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if @path appeared meanwhile: creation stays
		 * exclusive even between two racing processes. */
		if (link(tmp, path) != 0) {
			rc = -errno;
			goto fail_unlink;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	return bm_fsync_dir(path);

fail_unlink:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	return rc;
}

int
bm_read_file(const char *path, size_t maxlen, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto fail_close;
	}
	if ((uint64_t)st.st_size > maxlen) {
		rc = -EFBIG;
		goto fail_close;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;

fail_free:
	free(buf);
fail_close:
	close(fd);
	return rc;
}

int
bm_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (bm_path(buf, sizeof(buf), "%s", path) != 0)
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
bm_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
bm_valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

int
bm_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Parse a number followed by at most one unit letter from @units, whose
 * multipliers are @mult. */
static int
parse_unit(const char *s, const char *units, const uint64_t *mult,
    uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t v, m = 1;
	const char *u;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	if ((u = strchr(units, num[n - 1])) != NULL && num[n - 1] != '\0') {
		m = mult[u - units];
		num[n - 1] = '\0';
	}
	if (bm_parse_u64(num, &v) != 0 || (v != 0 && m > UINT64_MAX / v))
		return -EINVAL;
	*out = v * m;
	return 0;
}

int
bm_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1, 1ULL << 10, 1ULL << 10,
	    1ULL << 20, 1ULL << 20, 1ULL << 30, 1ULL << 30, 1ULL << 40,
	    1ULL << 40};

	return parse_unit(s, "BkKmMgGtT", mult, out);
}

int
bm_parse_duration(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	return parse_unit(s, "smhd", mult, out);
}

void
bm_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
bm_unhex(uint8_t *out, size_t len, const char *in)
{
	size_t i;

	if (strlen(in) != 2 * len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *
bm_human(char *buf, size_t size, uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB",
	    "PiB"};
	double v = (double)bytes;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, unit[i]);
	return buf;
}

uint64_t
bm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
bm_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

char *
bm_age_str(char *buf, size_t size, uint64_t then_ns, uint64_t now_ns)
{
	uint64_t s = now_ns > then_ns ? (now_ns - then_ns) / 1000000000ULL : 0;

	if (then_ns == 0)
		snprintf(buf, size, "never");
	else if (s < 120)
		snprintf(buf, size, "%llus ago", (unsigned long long)s);
	else if (s < 7200)
		snprintf(buf, size, "%llum ago", (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(buf, size, "%lluh ago",
		    (unsigned long long)(s / 3600));
	else
		snprintf(buf, size, "%llud ago",
		    (unsigned long long)(s / 86400));
	return buf;
}

char *
bm_time_str(char *buf, size_t size, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int
bm_parse_time(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *end;
	uint64_t secs;
	time_t t;

	if (bm_parse_duration(s, &secs) == 0) {
		uint64_t now = bm_now_ns() / 1000000000ULL;

		*out = (secs > now ? 0 : now - secs) * 1000000000ULL;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0')
		return -EINVAL;
	if ((t = timegm(&tm)) < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ULL;
	return 0;
}

int
bm_gcm(int enc, const uint8_t key[32], const uint8_t iv[12],
    const void *aad1, size_t aad1len, const void *aad2, size_t aad2len,
    const uint8_t *in, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l, rc = -EIO;

	if (c == NULL)
		return -ENOMEM;
	if (n > INT32_MAX || aad1len > INT32_MAX || aad2len > INT32_MAX ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1 ||
	    (aad1len > 0 && EVP_CipherUpdate(c, NULL, &l, aad1,
	    (int)aad1len) != 1) ||
	    (aad2len > 0 && EVP_CipherUpdate(c, NULL, &l, aad2,
	    (int)aad2len) != 1) ||
	    (n > 0 && EVP_CipherUpdate(c, out, &l, in, (int)n) != 1))
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
	    (void *)(in + n)) != 1)
		goto done;
	if (EVP_CipherFinal_ex(c, out + n, &l) != 1) {
		rc = enc ? -EIO : -EBADMSG;
		goto done;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
	    out + n) != 1)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
bm_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

int
bm_list_dir(const char *dir, int (*ok)(const char *), char ***out,
    size_t *n)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cap = 0, cnt = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (ok != NULL && !ok(e->d_name)))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		if ((v[cnt] = strdup(e->d_name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (rc != 0) {
		bm_names_free(v, cnt);
		return rc;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), name_cmp);
	*out = v;
	*n = cnt;
	return 0;
}
