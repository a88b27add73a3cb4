/*
 * bm_esc.h -- client-controlled text made safe for a line of text or a
 * terminal (base library, see bm_err.h).
 *
 * A file name comes from a client and may hold any byte but NUL: a
 * newline that starts a forged line of the journal, an escape sequence
 * that drives the operator's terminal, bytes that are not UTF-8.  Every
 * line-oriented output (beemoctl, logs, report texts and mail) passes
 * such a string through bm_esc(), which keeps valid, printable UTF-8 as
 * it is and escapes everything else, so that the escaped text is one
 * line, free of control characters, and decodes back to exactly one
 * byte string:
 *
 *   \\   a backslash          \n \t \r   newline, tab, carriage return
 *   \xNN the byte 0xNN (two lowercase hex digits): any other byte below
 *        0x20, DEL (0x7f), each byte of an invalid UTF-8 sequence, and
 *        each byte of the encoding of a C1 control (U+0080 to U+009F),
 *        a line or paragraph separator (U+2028, U+2029), a
 *        bidirectional control (U+061C, U+200E, U+200F, U+202A to
 *        U+202E, U+2066 to U+2069) or an invisible character (U+00AD,
 *        U+180E, U+200B to U+200D, U+2060 to U+2064, U+FEFF), which
 *        could make a name look like another.
 *
 * Any other character stands for itself.  So "\xff\xfe" (two invalid
 * bytes) prints as \xff\xfe, never like the two U+FFFD characters
 * they would become elsewhere.  Pure functions, thread-safe.
 */
#ifndef BEEMO_BM_ESC_H
#define BEEMO_BM_ESC_H

#include <stddef.h>
#include <stdio.h>

/* BM_ESC_SIZE -- a buffer that holds the escape of any string of @n
 * bytes, with its NUL (at most 4 bytes per byte). */
#define BM_ESC_SIZE(n) (4 * (n) + 1)

/* BM_ESC_CHAR_MAX -- the longest escape of one character: "\xNN" for each
 * of 4 bytes. */
#define BM_ESC_CHAR_MAX 16

/*
 * bm_esc_char -- the escape of the one character (or invalid byte) at
 * the start of the non-empty, NUL-terminated @s into @out (not
 * NUL-terminated), its length into *@outlen.  The other functions are
 * this one in a loop; it serves writers that escape as they go (the
 * JSON writer).  Returns the number of bytes of @s escaped (1 to 4).
 */
size_t bm_esc_char(const char *s, char out[BM_ESC_CHAR_MAX], size_t *outlen);

/*
 * bm_esc -- escape the NUL-terminated @s into @out of @size bytes.  The
 * result is NUL-terminated when @size > 0; when it does not fit, as many
 * whole escapes as fit are written (an escape is never cut).
 * Returns the length of the whole escape, without the NUL, as
 * snprintf() does: the output was cut when it is >= @size.
 */
size_t bm_esc(char *out, size_t size, const char *s);

/* bm_esc_dup -- the escape of @s in a new malloc'd string (caller
 * frees), or NULL when out of memory. */
char *bm_esc_dup(const char *s);

/* bm_esc_put -- write the escape of @s to @f (errors of the stream are
 * the caller's to check). */
void bm_esc_put(FILE *f, const char *s);

#endif /* BEEMO_BM_ESC_H */
