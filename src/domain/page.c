#include <stdio.h>
#include <string.h>
#include "domain/page.h"
#include "util/error.h"
#include "util/sha256.h"

#define CHECK_LEN 16 /* hex digits of the check */

bool cr_page_wanted(const cr_page_req *req)
{
	return req && req->limit > 0;
}

/* The first CHECK_LEN hex digits of SHA-256 over a tag and PAYLOAD. */
static void check_of(const char *payload, size_t len, char out[CHECK_LEN + 1])
{
	static const char tag[] = "clean-release cursor v1\n";
	char buf[sizeof(tag) + CR_CURSOR_PAYLOAD_MAX], hex[65];

	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, payload, len);
	cr_sha256_hex(buf, sizeof(tag) - 1 + len, hex);
	memcpy(out, hex, CHECK_LEN);
	out[CHECK_LEN] = '\0';
}

int cr_cursor_make(char out[CR_CURSOR_MAX], const char *payload)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = strlen(payload), k = 0;

	out[0] = '\0';
	if (len == 0 || len > CR_CURSOR_PAYLOAD_MAX)
		return cr_error_set(CR_EINTERNAL, "cursor payload of %zu bytes", len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)payload[i];
		out[k++] = digits[c >> 4];
		out[k++] = digits[c & 15];
	}
	out[k++] = '.';
	check_of(payload, len, out + k);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cr_cursor_read(const char *cursor, const char *prefix, char *rest, size_t restlen)
{
	char payload[CR_CURSOR_PAYLOAD_MAX + 1], check[CHECK_LEN + 1];
	const char *dot = cursor ? strchr(cursor, '.') : NULL;
	size_t hexlen = dot ? (size_t)(dot - cursor) : 0, len = hexlen / 2, plen = strlen(prefix);

	if (restlen)
		rest[0] = '\0';
	if (!dot || hexlen == 0 || hexlen % 2 || len > CR_CURSOR_PAYLOAD_MAX || strlen(dot + 1) != CHECK_LEN)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a cursor of clean-release");
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(cursor[2 * i]), lo = hexval(cursor[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a cursor of clean-release");
		payload[i] = (char)(hi << 4 | lo);
		if (payload[i] == '\0')
			return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a cursor of clean-release");
	}
	payload[len] = '\0';
	check_of(payload, len, check);
	if (memcmp(check, dot + 1, CHECK_LEN) != 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: it was altered (its check does not match)");
	if (len < plen || memcmp(payload, prefix, plen) != 0)
		return cr_error_set(CR_EINVALID_ARGUMENT,
				    "invalid cursor: it belongs to another list or to other filters");
	if (len - plen >= restlen)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: its position is too long");
	memcpy(rest, payload + plen, len - plen + 1);
	return 0;
}
