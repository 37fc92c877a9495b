#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util/error.h"

static _Thread_local cr_error last;

static const struct {
	int code;
	const char *name;
	int exit_code; /* -1: API only */
	int http;
} table[] = {
	{CR_EINVALID_ARGUMENT, "INVALID_ARGUMENT", 2, 400},
	{CR_EINVALID_INPUT, "INVALID_INPUT", 2, 422},
	{CR_EPOLICY_MISSING, "POLICY_MISSING", 2, 400},
	{CR_EINVALID_TRANSITION, "INVALID_TRANSITION", 3, 409},
	{CR_EGATE_REFUSED, "GATE_REFUSED", 3, 409},
	{CR_ENOT_FOUND, "NOT_FOUND", 4, 404},
	{CR_ERUN_NOT_FINISHED, "RUN_NOT_FINISHED", 4, 409},
	{CR_ECONFLICT, "CONFLICT", 5, 409},
	{CR_EINTEGRITY, "INTEGRITY", 5, 500},
	{CR_ESTORAGE, "STORAGE", 5, 500},
	{CR_EUNAUTHENTICATED, "UNAUTHENTICATED", -1, 401},
	{CR_EFORBIDDEN, "FORBIDDEN", -1, 403},
	{CR_EPAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", -1, 413},
	{CR_ELEGACY_ENDPOINT_REMOVED, "LEGACY_ENDPOINT_REMOVED", -1, 410},
	{CR_EINTERNAL, "INTERNAL", 70, 500},
};

static size_t find(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return i;
	return sizeof(table) / sizeof(table[0]) - 1; /* INTERNAL */
}

/* One line that is safe on a terminal: line breaks become spaces, every
 * other C0 or C1 control (escape sequences start with one) and every
 * bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069, which
 * reorder what follows on screen) becomes '?', byte for byte. Messages
 * quote input (paths, JSON keys, ids): they are cleaned where they are
 * made, for every front end. */
static void oneline(char *str)
{
	unsigned char *s = (unsigned char *)str;
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			*s = ' ';
		else if (*s < 0x20 || *s == 0x7f)
			*s = '?';
		else if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
			s[0] = s[1] = '?';
		else if (s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
					  (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)))
			s[0] = s[1] = s[2] = '?';
	}
}

int cr_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	cr_error e = {0};
	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	oneline(e.message);
	last = e;
	return code;
}

int cr_error_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last.hint, sizeof(last.hint), fmt, ap);
	va_end(ap);
	oneline(last.hint);
	return last.code;
}

void cr_error_gate_details(const char *status, const char *allowed)
{
	snprintf(last.status, sizeof(last.status), "%s", status ? status : "");
	snprintf(last.allowed, sizeof(last.allowed), "%s", allowed ? allowed : "");
}

const cr_error *cr_error_last(void) { return &last; }
void cr_error_clear(void) { memset(&last, 0, sizeof(last)); }
void cr_error_save(cr_error *out) { *out = last; }
void cr_error_restore(const cr_error *e) { last = *e; }

const char *cr_error_name(int code) { return table[find(code)].name; }
int cr_error_exit(int code) { return code == 0 ? 0 : table[find(code)].exit_code; }
int cr_error_http(int code) { return code == 0 ? 200 : table[find(code)].http; }

int cr_error_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			return table[i].code;
	return 0;
}
