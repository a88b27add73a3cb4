/*
 * test_progress_json.c -- the JSON lines of the progress display
 * (bm_progress_set_json(), tools/base/bm_progress.c): standard error
 * receives one strict JSON object "beemo-progress" per line, even when
 * quiet and not a terminal, at most one a second while the counters
 * change, and a final one at the end whatever bm_progress_end() is
 * asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bm_json.h"
#include "bm_progress.h"
#include "bm_time.h"
#include "check.h"

/* Run @n_ms milliseconds of updates (one a millisecond) of a display
 * with its stderr in a temporary file; the lines into @buf. */
static size_t
run(char *buf, size_t size, unsigned n_ms, int final)
{
	struct bm_progress p;
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	uint64_t end;
	size_t len;

	REQUIRE(f != NULL && saved >= 0);
	fflush(stderr);
	REQUIRE(dup2(fileno(f), STDERR_FILENO) == STDERR_FILENO);
	bm_progress_start(&p, "testing", 1, 10, 1000000, NULL, NULL);
	end = bm_mono_ns() + (uint64_t)n_ms * 1000000;
	while (bm_mono_ns() < end) {
		struct timespec ms = {0, 1000000};

		bm_progress_add(&p, 100, 0);
		nanosleep(&ms, NULL);
	}
	bm_progress_clear(&p); /* no extra line, nothing to erase */
	bm_progress_add(&p, 1, 1);
	bm_progress_end(&p, final);
	fflush(stderr);
	REQUIRE(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
	close(saved);
	rewind(f);
	len = fread(buf, 1, size - 1, f);
	buf[len] = '\0';
	fclose(f);
	return len;
}

/* Check every line of @buf; returns the number of lines, the last in
 * *@last_done (bytes_done) and *@last_final. */
static int
check_lines(char *buf, uint64_t *last_done, int *last_final)
{
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct sjson *v = NULL;
		const struct sjson *fin;

		n++;
		CHECK_OK(sjson_parse(line, strlen(line), &v));
		if (v == NULL)
			continue;
		CHECK(v->nkids >= 2 && strcmp(v->kids[0].key, "format") == 0 &&
		    strcmp(v->kids[1].key, "version") == 0);
		CHECK(sjson_str(v, "format") != NULL &&
		    strcmp(sjson_str(v, "format"), "beemo-progress") == 0);
		CHECK(sjson_num(v, "version") == 1);
		CHECK(sjson_str(v, "label") != NULL &&
		    strcmp(sjson_str(v, "label"), "testing") == 0);
		CHECK(sjson_num(v, "bytes_total") == 1000000);
		CHECK(sjson_num(v, "objs_total") == 10);
		CHECK(sjson_get(v, "files", SJSON_NUM) != NULL);
		CHECK(sjson_get(v, "elapsed_s", SJSON_NUM) != NULL);
		fin = sjson_get(v, "final", SJSON_BOOL);
		CHECK(fin != NULL);
		*last_final = fin != NULL && fin->b;
		*last_done = sjson_num(v, "bytes_done");
		sjson_free(v);
	}
	return n;
}

int
main(void)
{
	static char buf[65536];
	uint64_t done = 0;
	int final = 0, n;

	bm_progress_set_json(1);

	/* Short: the first change draws at once, then nothing until the
	 * end, which is final even when not asked for. */
	run(buf, sizeof(buf), 100, 0);
	n = check_lines(buf, &done, &final);
	CHECK(n == 2);
	CHECK(final);
	CHECK(done > 100 * 50 && done % 100 == 1);

	/* A little over a second: at most one more line. */
	run(buf, sizeof(buf), 1300, 1);
	n = check_lines(buf, &done, &final);
	CHECK(n == 3);
	CHECK(final);
	return check_status();
}
