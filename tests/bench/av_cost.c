/*
 * av_cost.c -- what libclamav costs with a given signature set: engine
 * load and compile time, the process's memory once loaded, and the scan
 * time per file (all parsers on, as beemofs scans), for the benchmark
 * bench_av.sh.  Not part of Beemo.
 *
 *   av_cost SIGDIR LISTFILE
 *
 * LISTFILE holds one path per line; each file is read once before the
 * timing (so that the page cache serves every scan) and scanned once.
 * Prints one JSON object on stdout.
 */
#include <clamav.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* VmRSS or VmHWM of this process in kB. */
static long
status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct cl_scan_options so = {0};
	struct cl_engine *e;
	unsigned int sigs = 0;
	char path[4096];
	double t0, t_load, *times = NULL, total = 0;
	size_t n = 0, cap = 0, infected = 0;
	FILE *list;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: av_cost SIGDIR LISTFILE\n");
		return 2;
	}
	if ((rc = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS ||
	    (e = cl_engine_new()) == NULL) {
		fprintf(stderr, "av_cost: cl_init: %s\n", cl_strerror(rc));
		return 1;
	}
	t0 = now();
	if ((rc = cl_load(argv[1], e, &sigs, CL_DB_STDOPT)) != CL_SUCCESS ||
	    (rc = cl_engine_compile(e)) != CL_SUCCESS) {
		fprintf(stderr, "av_cost: %s: %s\n", argv[1], cl_strerror(rc));
		return 1;
	}
	t_load = now() - t0;
	so.general = CL_SCAN_GENERAL_HEURISTICS;
	so.parse = ~0u;
	if ((list = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(path, sizeof(path), list) != NULL) {
		const char *virname = NULL;
		unsigned long scanned = 0;
		char buf[1 << 16];
		double t;
		int fd;

		path[strcspn(path, "\n")] = '\0';
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		lseek(fd, 0, SEEK_SET);
		t = now();
		rc = cl_scandesc(fd, path, &virname, &scanned, e, &so);
		t = now() - t;
		close(fd);
		if (rc == CL_VIRUS)
			infected++;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((times = realloc(times, cap * sizeof(*times))) ==
			    NULL)
				return 1;
		}
		times[n++] = t;
		total += t;
	}
	fclose(list);
	if (n == 0) {
		fprintf(stderr, "av_cost: no file scanned\n");
		return 1;
	}
	qsort(times, n, sizeof(*times), cmp);
	printf("{\"signatures\": %u, \"load_s\": %.3f, \"rss_mb\": %.1f, "
	    "\"peak_mb\": %.1f, \"files\": %zu, \"infected\": %zu, "
	    "\"mean_us\": %.1f, \"median_us\": %.1f, \"p99_us\": %.1f}\n",
	    sigs, t_load, status_kb("VmRSS") / 1024.0,
	    status_kb("VmHWM") / 1024.0, n, infected, total / n * 1e6,
	    times[n / 2] * 1e6, times[n * 99 / 100] * 1e6);
	free(times);
	cl_engine_free(e);
	return 0;
}
