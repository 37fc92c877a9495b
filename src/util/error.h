#ifndef CR_UTIL_ERROR_H
#define CR_UTIL_ERROR_H
/*
 * Errors are values: functions return 0 or a negative CR_E* code and leave
 * the detail in one per-thread error (libgit2's git_error_last() pattern).
 * The front ends alone turn a code into an exit status or an HTTP status,
 * through cr_error_exit() / cr_error_http(): one table for both.
 */
#include <stddef.h>

enum cr_code {
	CR_OK = 0,
	CR_EINVALID_ARGUMENT = -1,
	CR_EINVALID_INPUT = -2,
	CR_EPOLICY_MISSING = -3,
	CR_EINVALID_TRANSITION = -4,
	CR_EGATE_REFUSED = -5,
	CR_ENOT_FOUND = -6,
	CR_ERUN_NOT_FINISHED = -7,
	CR_ECONFLICT = -8,
	CR_EINTEGRITY = -9,
	CR_ESTORAGE = -10,
	CR_EUNAUTHENTICATED = -11,
	CR_EFORBIDDEN = -12,
	CR_EPAYLOAD_TOO_LARGE = -13,
	CR_ELEGACY_ENDPOINT_REMOVED = -14,
	CR_EINTERNAL = -15,
	/* Not an error seen by users: the ledger ref moved under a transaction. */
	CR_ERETRY = -100,
};

#define CR_ERROR_MSG_MAX 2000

typedef struct cr_error {
	int code;                       /* a CR_E* value, 0 when none */
	char message[CR_ERROR_MSG_MAX]; /* one line */
	char hint[512];                 /* optional second line, "" when none */
	/* For lifecycle refusals: the candidate's status and the allowed ops. */
	char status[32];
	char allowed[256]; /* comma-separated operation names, "" when none */
} cr_error;

/* Set the thread's error (printf-style, one line) and return CODE. */
int cr_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add a hint line to the current error; returns the current code. */
int cr_error_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record status/allowed details of a lifecycle refusal on the current error. */
void cr_error_gate_details(const char *status, const char *allowed);
/* The thread's last error (never NULL; code 0 when none). */
const cr_error *cr_error_last(void);
void cr_error_clear(void);
/* Save/restore, to report an error after cleanup that may set another. */
void cr_error_save(cr_error *out);
void cr_error_restore(const cr_error *e);

/* The one table of contracts/modules.md: name, CLI exit code, HTTP status. */
const char *cr_error_name(int code);
int cr_error_exit(int code);
int cr_error_http(int code);
/* Code by name ("NOT_FOUND"), 0 if unknown. */
int cr_error_from_name(const char *name);

/* CLI exit codes that are not error codes. */
enum { CR_EXIT_OK = 0, CR_EXIT_BLOCKED = 1, CR_EXIT_RUN_ERROR = 6 };

#endif
