/*
 * bm_nodump.h -- keep secrets out of core dumps (base library).
 *
 * Every Beemo program holds keys or plaintext (file contents, names,
 * passwords) in memory, so none of them may leave a core file: a core
 * is written with the dumped process's privileges into a directory the
 * administrator may not watch (the current directory, a crash
 * collector), and it outlives the process.  bm_nodump() is the first
 * thing main() calls.  Three independent locks, so that loosening one
 * (ulimit -c unlimited in a shell, a crash collector through
 * core_pattern) still leaves no plaintext:
 *
 *   prctl(PR_SET_DUMPABLE, 0)  no core at all, and no ptrace attach or
 *                              /proc/PID/mem reading by other processes
 *                              of the same user;
 *   RLIMIT_CORE 0              no core file even if something makes
 *                              the process dumpable again (the kernel
 *                              resets the flag at execve);
 *   /proc/self/coredump_filter 0
 *                              no anonymous memory in a core taken all
 *                              the same (e.g. by a pipe collector).
 *
 * bm_dontdump() marks one big buffer of plaintext (MADV_DONTDUMP), for
 * the memory that would matter most if the process were dumped by other
 * means (gcore honours the mark).
 */
#ifndef BEEMO_BM_NODUMP_H
#define BEEMO_BM_NODUMP_H

#include <stddef.h>

/*
 * bm_nodump -- make this process, and the children it forks, leave no
 * core dump.  Returns 0, or the negative errno of the first of prctl()
 * and setrlimit() that failed (the others are still applied); a missing
 * /proc is not an error.  Call it first in main(), before any secret is
 * read.
 */
int bm_nodump(void);

/*
 * bm_dontdump -- exclude the whole pages inside [@buf, @buf + @len)
 * from core dumps (MADV_DONTDUMP).  Only buffers of at least
 * BM_DONTDUMP_MIN bytes are marked: those are mappings of their own
 * (malloc's mmap threshold), so marking them never splits the heap into
 * many mappings; smaller ones are left to bm_nodump()'s filter.  Errors
 * are ignored: this is a second line of defence.  Thread-safe.
 */
#define BM_DONTDUMP_MIN (1024 * 1024)
void bm_dontdump(void *buf, size_t len);

#endif /* BEEMO_BM_NODUMP_H */
