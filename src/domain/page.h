#ifndef CR_DOMAIN_PAGE_H
#define CR_DOMAIN_PAGE_H
/*
 * Paged lists (the OpenAPI contract's "Paging"): a request names a page
 * size (1..CR_PAGE_LIMIT_MAX) and the previous page's cursor; a page
 * answers the cursor of the next one, "" (null) on the last page.
 *
 * A cursor is opaque to its users: the hex of a position in one list with
 * its filters ("a|<candidate>|<n>", …), and a check over it. Reading one
 * back refuses a cursor that was altered, or that belongs to another list
 * or to other filters. The check guards against mistakes and tampering in
 * transit, not against a determined forger — who gains nothing: a cursor
 * only says where to start reading a list the reader may read anyway.
 */
#include <stdbool.h>
#include <stddef.h>

#define CR_PAGE_LIMIT_MAX 1000
#define CR_PAGE_LIMIT_DEFAULT 100 /* the API's default; the CLI lists everything without --limit */
#define CR_CURSOR_MAX 512         /* with its NUL: the contract's maxLength is 511 + 1 */
#define CR_CURSOR_PAYLOAD_MAX 240 /* hex doubles it; 16 more for the check */

typedef struct cr_page_req {
	size_t limit;       /* 0: no paging, the whole list */
	const char *cursor; /* NULL or "": the first page */
} cr_page_req;

/* true when REQ asks for one page (a limit), false for the whole list. */
bool cr_page_wanted(const cr_page_req *req);

/* OUT (CR_CURSOR_MAX bytes) = the cursor of PAYLOAD. CR_EINTERNAL when
 * PAYLOAD is longer than CR_CURSOR_PAYLOAD_MAX. */
int cr_cursor_make(char out[CR_CURSOR_MAX], const char *payload);
/* Read CURSOR back: its payload must start with PREFIX (the list and its
 * filters, e.g. "a|rc1|"); REST (RESTLEN bytes) gets what follows.
 * CR_EINVALID_ARGUMENT naming the problem (malformed, altered, or of
 * another list or other filters). */
int cr_cursor_read(const char *cursor, const char *prefix, char *rest, size_t restlen);

#endif
