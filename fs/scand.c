/*
 * scand.c -- beemo-scand, the appliance's antivirus service: one
 * libclamav engine for every session (beemo-scand(8)).
 *
 * The engine is loaded and compiled once (scan.h, scan_open_engine) and
 * reloaded on SIGHUP and when the signature directory changes, scans in
 * progress finishing on the old one.  Clients (beemofs with [scan]
 * engine = shared or auto, beemoctl) connect to a Unix socket (0600, or
 * 0660 and the group of [scan] service_group) and speak scan_proto.h.
 * A peer is accepted by SO_PEERCRED: root, this daemon's own user, or
 * the primary group of [scan] service_group.
 *
 * Each connection has a thread that reads its requests; at most
 * [scan] threads scans (default: the number of CPUs) run at once, the
 * others wait their turn.  Verdicts are cached by (content key,
 * signature version): an ASK is answered without the content.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_exit.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "scan.h"
#include "scan_client.h"
#include "bm_bytes.h"
#include "scan_proto.h"

#define MAX_CONNS 256

struct conn {
	pthread_t th;
	int fd;
	int used;  /* protected by scand.lock */
	int done;  /* the thread has ended: join it (protected by lock) */
};

struct scand {
	struct scan_engine *se;
	sem_t slots;       /* scans that may run at once */
	unsigned threads;
	uid_t uid;
	gid_t group;       /* (gid_t)-1: none */
	atomic_uint nconn;    /* connections open */
	pthread_mutex_t lock; /* protects conns[].used, .done */
	struct conn conns[MAX_CONNS];
};

static int stop_pipe[2] = {-1, -1};

static void
on_stop(int sig)
{
	(void)sig;
	if (write(stop_pipe[1], "s", 1) < 0) {
		/* Nothing to do in a signal handler. */
	}
}

static void
rep_init(struct scan_proto_rep *r, int status, uint64_t ver, unsigned sigs)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->magic, SCAN_PROTO_REP_MAGIC, 4);
	r->version = SCAN_PROTO_VERSION;
	r->status = (uint8_t)status;
	bm_be64enc(r->sigver, ver);
	bm_be64enc(r->sigs, sigs);
}

/* VmRSS and VmHWM of this process, in kB. */
static void
mem_kb(uint64_t *rss, uint64_t *hwm)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss = *hwm = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*rss = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			*hwm = v;
	}
	fclose(f);
}

static int
reply_status(struct scand *d, int fd)
{
	struct scan_proto_rep r;
	struct scan_status st;
	uint64_t rss, hwm;
	char text[1024];
	int n;

	scan_status(d->se, &st);
	mem_kb(&rss, &hwm);
	n = snprintf(text, sizeof(text), "engine loaded\nsignatures %u\n"
	    "version %llu\nsigdir %s\nrss_kb %llu\nhwm_kb %llu\n"
	    "clients %u\nthreads %u\nscans %llu\ncache_hits %llu\n"
	    "cache_misses %llu\ncache_entries %llu\ncache_max %llu\n",
	    st.sigs, (unsigned long long)st.version, st.sigdir,
	    (unsigned long long)rss, (unsigned long long)hwm,
	    atomic_load(&d->nconn) - 1, d->threads,
	    (unsigned long long)st.scans,
	    (unsigned long long)st.cache_hits,
	    (unsigned long long)st.cache_misses,
	    (unsigned long long)st.cache_entries,
	    (unsigned long long)st.cache_max);
	if (n < 0 || n >= (int)sizeof(text))
		n = (int)strlen(text);
	rep_init(&r, SCAN_ST_CLEAN, st.version, st.sigs);
	bm_be32enc(r.text_len, (uint32_t)n);
	if (scan_proto_send(fd, &r, sizeof(r), -1) != 0)
		return -EPIPE;
	return scan_proto_send(fd, text, (size_t)n, -1);
}

/* Scan the content of sealed memfd @mfd (@size bytes, key @key). */
static void
do_scan(struct scand *d, int mfd, uint64_t size, const uint8_t key[32],
    struct scan_proto_rep *r)
{
	struct store_scan_src src;
	struct scan_status st;
	char virus[sizeof(r->name)];
	uint64_t ver = 0;
	unsigned sigs = 0;
	struct stat sb;
	void *map = NULL;
	int seals, rc;

	scan_status(d->se, &st);
	seals = fcntl(mfd, F_GET_SEALS);
	/* Only a sealed memfd: its size and bytes cannot change under the
	 * scan (no SIGBUS, no content swapped after the verdict). */
	if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW)) != (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) ||
	    fstat(mfd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != size) {
		rep_init(r, SCAN_ST_ERROR, st.version, st.sigs);
		bm_be32enc(r->err, EBADF);
		return;
	}
	if (size > st.max_file) {
		rep_init(r, SCAN_ST_ERROR, st.version, st.sigs);
		bm_be32enc(r->err, EFBIG);
		return;
	}
	if (size > 0 && (map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, mfd,
	    0)) == MAP_FAILED) {
		rep_init(r, SCAN_ST_ERROR, st.version, st.sigs);
		bm_be32enc(r->err, (uint32_t)errno);
		return;
	}
	memset(&src, 0, sizeof(src));
	src.size = size;
	src.mem = map != NULL ? map : (const void *)"";
	memcpy(src.key, key, 32);
	sem_wait(&d->slots);
	/* The client asked with the key first (scan_client.c): the miss
	 * is counted once. */
	rc = scan_file_version(d->se, "(client content)", &src, virus,
	    sizeof(virus), 0, &ver, &sigs);
	sem_post(&d->slots);
	if (map != NULL)
		munmap(map, size);
	rep_init(r, rc == 0 ? SCAN_ST_CLEAN : rc == BEEMO_EVIRUS ?
	    SCAN_ST_VIRUS : SCAN_ST_ERROR, ver, sigs);
	if (rc == BEEMO_EVIRUS)
		snprintf(r->name, sizeof(r->name), "%s", virus);
	else if (rc != 0)
		bm_be32enc(r->err, EIO);
}

/* Serve one request on @fd.  Returns 0, or a negative errno to end the
 * connection. */
static int
serve_one(struct scand *d, int fd)
{
	struct scan_proto_req q;
	struct scan_proto_rep r;
	char virus[sizeof(r.name)];
	uint64_t ver;
	unsigned sigs;
	int mfd = -1, rc;

	if ((rc = scan_proto_recv(fd, &q, sizeof(q), &mfd)) != 0)
		return rc;
	if (memcmp(q.magic, SCAN_PROTO_REQ_MAGIC, 4) != 0 ||
	    q.version != SCAN_PROTO_VERSION) {
		rc = -EPROTO;
		goto out;
	}
	switch (q.op) {
	case SCAN_OP_ASK:
		rc = scan_cached(d->se, q.key, virus, sizeof(virus), &ver,
		    &sigs);
		rep_init(&r, rc == 0 ? SCAN_ST_CLEAN : rc == BEEMO_EVIRUS ?
		    SCAN_ST_VIRUS : SCAN_ST_UNKNOWN, ver, sigs);
		if (rc == BEEMO_EVIRUS)
			snprintf(r.name, sizeof(r.name), "%s", virus);
		rc = scan_proto_send(fd, &r, sizeof(r), -1);
		break;
	case SCAN_OP_SCAN:
		if (mfd < 0) {
			rc = -EPROTO;
			break;
		}
		do_scan(d, mfd, bm_be64dec(q.size), q.key, &r);
		rc = scan_proto_send(fd, &r, sizeof(r), -1);
		break;
	case SCAN_OP_STATUS:
		rc = reply_status(d, fd);
		break;
	default:
		rc = -EPROTO;
	}
out:
	if (mfd >= 0)
		close(mfd);
	return rc;
}

/* May this peer use the service? */
static int
peer_ok(struct scand *d, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return 0;
	if (uc.uid == 0 || uc.uid == d->uid ||
	    (d->group != (gid_t)-1 && uc.gid == d->group))
		return 1;
	bm_log(LOG_WARNING, "connection refused: uid %u (not root, nor of "
	    "[scan] service_group)", (unsigned)uc.uid);
	return 0;
}

struct conn_arg {
	struct scand *d;
	struct conn *c;
};

static void *
conn_main(void *arg)
{
	struct conn_arg *a = arg;
	struct scand *d = a->d;
	struct conn *c = a->c;
	int rc;

	free(a);
	atomic_fetch_add(&d->nconn, 1);
	while ((rc = serve_one(d, c->fd)) == 0)
		;
	if (rc == -EPROTO)
		bm_log(LOG_WARNING, "a client spoke another protocol: "
		    "connection closed");
	/* The peer sees the end now, not when the next connection reaps
	 * this one (the descriptor is closed there). */
	shutdown(c->fd, SHUT_RDWR);
	atomic_fetch_sub(&d->nconn, 1);
	pthread_mutex_lock(&d->lock);
	c->done = 1;
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Join the connections whose thread has ended, free their slots. */
static void
reap(struct scand *d, int all)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &d->conns[i];
		int done;

		pthread_mutex_lock(&d->lock);
		done = c->used && (c->done || all);
		pthread_mutex_unlock(&d->lock);
		if (!done)
			continue;
		if (all)
			shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->th, NULL);
		close(c->fd);
		pthread_mutex_lock(&d->lock);
		c->used = c->done = 0;
		pthread_mutex_unlock(&d->lock);
	}
}

static void
accept_one(struct scand *d, int lfd)
{
	struct conn_arg *a;
	int fd, i;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	if (!peer_ok(d, fd)) {
		close(fd);
		return;
	}
	reap(d, 0);
	for (i = 0; i < MAX_CONNS && d->conns[i].used; i++)
		;
	if (i == MAX_CONNS || (a = malloc(sizeof(*a))) == NULL) {
		bm_log(LOG_WARNING, "too many connections: one refused");
		close(fd);
		return;
	}
	a->d = d;
	a->c = &d->conns[i];
	d->conns[i].fd = fd;
	d->conns[i].done = 0;
	if (pthread_create(&d->conns[i].th, NULL, conn_main, a) != 0) {
		free(a);
		close(fd);
		return;
	}
	pthread_mutex_lock(&d->lock);
	d->conns[i].used = 1;
	pthread_mutex_unlock(&d->lock);
}

/* Listen on @path: 0600, or 0660 with group @group. */
static int
listen_on(const char *path, gid_t group)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		bm_log(LOG_ERR, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Another service already answering there: do not take it over. */
	if (scan_client_status(path, NULL, 0) == 0) {
		bm_log(LOG_ERR, "%s: another beemo-scand answers there", path);
		return -EADDRINUSE;
	}
	/* A missing directory is made root's alone: /run/beemo is also
	 * the parent of the engines' private directories (bm_tmpdir.h),
	 * which must give nobody else access. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		bm_mkdir_p(dir, 0700);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	unlink(path);
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 64) != 0) {
		rc = -errno;
		bm_log(LOG_ERR, "%s: cannot listen: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	if (group != (gid_t)-1 && (chown(path, (uid_t)-1, group) != 0 ||
	    chmod(path, 0660) != 0)) {
		rc = -errno;
		bm_log(LOG_ERR, "%s: cannot give it to the group: %s", path,
		    strerror(-rc));
		close(fd);
		unlink(path);
		return rc;
	}
	return fd;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: beemo-scand [--config FILE] [--socket PATH] "
	    "[--threads N] [-v]\n"
	    "       beemo-scand --status [--config FILE] [--socket PATH]\n"
	    "\n"
	    "The appliance's antivirus service: loads the signatures of\n"
	    "[scan] signatures once and scans for every session on a Unix\n"
	    "socket ([scan] service, default " SCAN_PROTO_SOCKET ").\n"
	    "SIGHUP reloads the signatures without stopping.\n"
	    "\n"
	    "  --config FILE  configuration file (default $BEEMO_CONFIG or\n"
	    "                 " BEEMO_SYSCONFDIR "/beemo/beemo.conf)\n"
	    "  --socket PATH  the socket (default [scan] service)\n"
	    "  --threads N    scans at once (default [scan] threads, or the\n"
	    "                 number of CPUs)\n"
	    "  --status       ask the running service its state and print it\n"
	    "  -v, --verbose  log more (info)\n"
	    "  -V, --version  the version\n"
	    "  -h, --help     this help\n"
	    "\n"
	    "exit status: 0 stopped by a signal (--status: the service "
	    "answered),\n"
	    "1 failed (--status: no service), 2 usage\n");
}

static int
serve(struct scand *d, int lfd)
{
	struct pollfd p[2];
	struct scan_status st;
	uint64_t rss, hwm;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	p[1].fd = stop_pipe[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			bm_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(d, lfd);
	}
	reap(d, 1);
	scan_status(d->se, &st);
	mem_kb(&rss, &hwm);
	bm_log(LOG_NOTICE, "stopping: %llu files scanned, cache %llu hits, "
	    "%llu misses, %llu entries; peak memory %llu kB",
	    (unsigned long long)st.scans, (unsigned long long)st.cache_hits,
	    (unsigned long long)st.cache_misses,
	    (unsigned long long)st.cache_entries, (unsigned long long)hwm);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 'S'},
		{"threads", required_argument, NULL, 't'},
		{"status", no_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *sock = NULL, *grp;
	struct scand *d = NULL;
	struct sigaction sa;
	bm_conf *conf = NULL;
	char err[512];
	long threads = 0, ncpu;
	int c, status = 0, verbose = 0, lfd = -1, rc = BM_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			if (threads < 1 || threads > 256) {
				fprintf(stderr, "beemo-scand: --threads: 1 to "
				    "256\n");
				return BM_EXIT_USAGE;
			}
			break;
		case 's':
			status = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("beemo-scand " BEEMO_VERSION "\n");
			return BM_EXIT_OK;
		case 'h':
			usage(stdout);
			return BM_EXIT_OK;
		default:
			usage(stderr);
			return BM_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return BM_EXIT_USAGE;
	}
	bm_log_open("beemo-scand", 0, verbose);
	if ((c = bm_conf_load(config, &conf, err, sizeof(err))) != 0) {
		fprintf(stderr, "beemo-scand: %s\n", c == BEEMO_ECONFIG ? err :
		    strerror(-c));
		return BM_EXIT_FAIL;
	}
	if (sock == NULL)
		sock = bm_conf_get(conf, "scan", NULL, "service",
		    SCAN_PROTO_SOCKET);
	if (sock == NULL || *sock == '\0')
		sock = SCAN_PROTO_SOCKET;
	if (status) {
		char text[2048];

		if ((c = scan_client_status(sock, text, sizeof(text))) != 0) {
			fprintf(stderr, "beemo-scand: %s: %s\n", sock,
			    strerror(-c));
			rc = BM_EXIT_FAIL;
		} else {
			printf("socket %s\n%s", sock, text);
			rc = BM_EXIT_OK;
		}
		goto out;
	}
	if (bm_nodump() != 0)
		bm_log(LOG_WARNING, "core dumps could not be turned off");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	pthread_mutex_init(&d->lock, NULL);
	d->uid = geteuid();
	d->group = (gid_t)-1;
	grp = bm_conf_get(conf, "scan", NULL, "service_group", NULL);
	if (grp != NULL && *grp != '\0') {
		struct group *g = getgrnam(grp);

		if (g == NULL) {
			bm_log(LOG_ERR, "[scan] service_group: no group %s",
			    grp);
			goto out;
		}
		d->group = g->gr_gid;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (threads == 0)
		threads = (long)bm_conf_get_u64(conf, "scan", NULL, "threads",
		    ncpu > 0 ? (uint64_t)ncpu : 1);
	if (threads < 1)
		threads = 1;
	d->threads = (unsigned)threads;
	sem_init(&d->slots, 0, d->threads);
	if (!bm_conf_get_bool(conf, "scan", NULL, "enabled", 1)) {
		bm_log(LOG_ERR, "[scan] enabled = no: nothing to serve");
		goto out;
	}
	if (scan_open_engine(conf, &d->se) != 0 || d->se == NULL)
		goto out; /* scan_open_engine said why */
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	scan_signals(d->se);
	if ((lfd = listen_on(sock, d->group)) < 0)
		goto out;
	{
		struct scan_status st;

		scan_status(d->se, &st);
		bm_log(LOG_NOTICE, "serving %u signatures from %s on %s "
		    "(%u scans at once, cache of %llu entries)", st.sigs,
		    st.sigdir, sock, d->threads,
		    (unsigned long long)st.cache_max);
	}
	serve(d, lfd);
	close(lfd);
	unlink(sock);
	rc = BM_EXIT_OK;
out:
	if (d != NULL) {
		scan_close(d->se);
		sem_destroy(&d->slots);
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
	if (stop_pipe[0] >= 0) {
		close(stop_pipe[0]);
		close(stop_pipe[1]);
	}
	bm_conf_free(conf);
	return rc;
}
