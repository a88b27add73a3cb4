/*
 * backup_get.c -- beemo-backup snapshots and restore: what the appliance
 * keeps of this machine, and files brought back from it (backup.h).
 *
 * Each is one ssh channel without a master: "snapshots" presents the
 * key file as a backup does; "restore" presents a user's password
 * instead (the machine comes from the SSH account, never from what the
 * client says), and the tar stream after the reply goes to tar(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "bm_units.h"

/* Start "ssh ... HOST @request" into @ch; BM_EXIT_FAIL when it cannot. */
static int
chan_start(const struct backup_opts *o, const char *request,
    struct backup_chan *ch)
{
	const char *argv[64];
	char store[PATH_MAX * 2 + 256];
	int n, rc;

	n = backup_ssh_argv(o, NULL, 0, request, argv, 64, store,
	    sizeof(store));
	if (n < 0 || (rc = backup_chan_open(ch, argv)) != 0) {
		fprintf(stderr, "beemo-backup: cannot run ssh: %s\n",
		    strerror(n < 0 ? -n : -rc));
		return BM_EXIT_FAIL;
	}
	return 0;
}

/* The listing for people: one line per snapshot, local times. */
static int
print_snapshots(const char *text)
{
	const struct sjson *arr;
	struct sjson *v = NULL;
	char t[BM_TIME_SHOW_MAX], b[32];
	uint64_t ns;
	size_t i, k;

	if (sjson_parse(text, strlen(text), &v) != 0 ||
	    !(arr = sjson_get(v, "snapshots", SJSON_ARR))) {
		fprintf(stderr, "beemo-backup: listing the snapshots: the "
		    "appliance's reply is not a beemo-snapshots object\n");
		sjson_free(v);
		return BM_EXIT_FAIL;
	}
	if (arr->nkids == 0)
		printf("no snapshots\n");
	else
		printf("%5s  %-25s  %10s  %10s  %s\n", "ID", "TIME", "FILES",
		    "SIZE", "[TAGS] NOTE");
	for (i = 0; i < arr->nkids; i++) {
		const struct sjson *s = &arr->kids[i];
		const struct sjson *tags = sjson_get(s, "tags", SJSON_ARR);
		const char *when = sjson_str(s, "time"), *note;

		ns = 0;
		if (when && bm_parse_time(when, &ns) != 0)
			ns = 0;
		printf("%5llu  %-25s  %10llu  %10s  ",
		    (unsigned long long)sjson_num(s, "id"),
		    bm_time_show(t, sizeof(t), ns),
		    (unsigned long long)sjson_num(s, "files"),
		    bm_human(b, sizeof(b), sjson_num(s, "bytes")));
		for (k = 0; tags && k < tags->nkids; k++)
			if (tags->kids[k].type == SJSON_STR) {
				fputs(k ? " [" : "[", stdout);
				bm_esc_put(stdout, tags->kids[k].str);
				putchar(']');
			}
		note = sjson_str(s, "note");
		if (tags && tags->nkids > 0 && note && note[0])
			putchar(' ');
		bm_esc_put(stdout, note ? note : "");
		putchar('\n');
	}
	sjson_free(v);
	return BM_EXIT_OK;
}

int
backup_cmd_snapshots(const struct backup_opts *o)
{
	struct backup_chan ch;
	char *rest = NULL;
	int rc;

	if ((rc = backup_key_check(o->key)) != 0)
		return rc;
	if ((rc = chan_start(o, "snapshots", &ch)) != 0)
		return rc;
	if ((rc = backup_key_send(o, &ch)) != 0 ||
	    (rc = backup_chan_reply(&ch, "listing the snapshots", &rest)) != 0)
		return backup_chan_failed(o, &ch, rc);
	backup_chan_close(&ch, 0);
	if (o->json) {
		/* The object as the appliance wrote it: one line. */
		printf("%s\n", rest);
		rc = BM_EXIT_OK;
	} else {
		rc = print_snapshots(rest);
	}
	free(rest);
	return rc;
}

/* Send the restore request: USER, PASS (the password, then wiped by the
 * caller), SNAP and PATH lines.  Returns 0 or a negative errno. */
static int
send_request(struct backup_chan *ch, const struct backup_opts *o,
    const char *pw, size_t pwlen)
{
	char head[64], *l = NULL;
	int rc;

	snprintf(head, sizeof(head), "PASS %zu\n", pwlen);
	if (asprintf(&l, "USER %s\n", o->user) < 0)
		return -ENOMEM;
	rc = backup_chan_write(ch, l, strlen(l));
	free(l);
	l = NULL;
	if (rc == 0)
		rc = backup_chan_write(ch, head, strlen(head));
	if (rc == 0)
		rc = backup_chan_write(ch, pw, pwlen);
	if (rc == 0 && asprintf(&l, "SNAP %s\nPATH %s\n", o->snapshot ?
	    o->snapshot : "latest", o->paths[0]) < 0)
		return -ENOMEM;
	if (rc == 0)
		rc = backup_chan_write(ch, l, strlen(l));
	free(l);
	return rc;
}

/* Run tar into @dir on the stream left in @ch; returns the exit status. */
static int
extract(struct backup_chan *ch, const char *dir)
{
	static const char *const argv_base[] = {"tar", "--numeric-owner",
	    "--xattrs", "--xattrs-include=*", "--acls", "-xpf", "-", "-C"};
	const char *argv[16];
	char how[64];
	int p[2], rc, st;
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof(argv_base) / sizeof(argv_base[0]); i++)
		argv[i] = argv_base[i];
	argv[i++] = dir;
	argv[i] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0) {
		fprintf(stderr, "beemo-backup: pipe: %s\n", strerror(errno));
		return BM_EXIT_FAIL;
	}
	pid = backup_spawn(argv, p[0], -1, -1);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		fprintf(stderr, "beemo-backup: cannot run tar: %s\n",
		    strerror((int)-pid));
		return BM_EXIT_FAIL;
	}
	rc = backup_chan_pump(ch, p[1]);
	close(p[1]);
	if (rc != 0)
		kill(pid, SIGTERM);
	st = backup_wait(pid);
	if (rc == -EINTR) {
		fprintf(stderr, "beemo-backup: restore interrupted\n");
		return BM_EXIT_FAIL;
	}
	if (rc != 0 && rc != -EPIPE) {
		fprintf(stderr, "beemo-backup: receiving the files: %s\n",
		    strerror(-rc));
		return BM_EXIT_FAIL;
	}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "beemo-backup: extracting the files with tar "
		    "failed (%s)\n", backup_status_str(how, sizeof(how), st));
		return BM_EXIT_FAIL;
	}
	return BM_EXIT_OK;
}

int
backup_cmd_restore(const struct backup_opts *o)
{
	struct bm_pass_src src = {.fd = o->password_fd};
	struct backup_chan ch;
	struct stat st;
	char from[256], how[64], *pw = NULL, *rest = NULL;
	size_t pwlen = 0;
	int rc, sst;

	if (stat(o->target, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "beemo-backup: the target %s is not an "
		    "existing directory\n", o->target);
		return BM_EXIT_USAGE;
	}
	src.file = o->password_file;
	rc = bm_password_get(&src, "Password: ", 0, &pw, &pwlen, from,
	    sizeof(from));
	if (rc != 0) {
		fprintf(stderr, "beemo-backup: cannot read %s's password "
		    "(%s): %s\n", o->user, from, rc == -ENOTTY ? "no "
		    "--password-file or --password-fd, and no terminal" :
		    strerror(-rc));
		return BM_EXIT_USAGE;
	}
	if ((rc = chan_start(o, "restore", &ch)) != 0) {
		bm_free_secret(pw, pwlen);
		return rc;
	}
	rc = send_request(&ch, o, pw, pwlen);
	bm_free_secret(pw, pwlen);
	if (rc != 0 && rc != -EPIPE) {
		fprintf(stderr, "beemo-backup: sending the request: %s\n",
		    strerror(-rc));
		return backup_chan_failed(o, &ch, BM_EXIT_FAIL);
	}
	if ((rc = backup_chan_reply(&ch, "restoring", &rest)) != 0)
		return backup_chan_failed(o, &ch, rc);
	free(rest);
	/* Nothing more to say: the appliance sees the end of our side. */
	close(ch.to);
	ch.to = -1;
	rc = extract(&ch, o->target);
	sst = backup_chan_close(&ch, rc != BM_EXIT_OK);
	if (rc == BM_EXIT_OK && (sst == -1 || !WIFEXITED(sst) ||
	    WEXITSTATUS(sst) != 0)) {
		/* The appliance's status for the stream: 4 when it went on
		 * past files it could not read. */
		if (sst != -1 && WIFEXITED(sst) &&
		    WEXITSTATUS(sst) == BM_EXIT_WARN) {
			fprintf(stderr, "beemo-backup: the appliance could "
			    "not read some files (named above)\n");
			return BM_EXIT_WARN;
		}
		fprintf(stderr, "beemo-backup: the restore failed on the "
		    "appliance (ssh %s)\n", backup_status_str(how,
		    sizeof(how), sst));
		return BM_EXIT_FAIL;
	}
	return rc;
}
