/* Text for findings: bytes of arbitrary files made into one line of valid
 * UTF-8 that JSON can carry. */
#include <stdio.h>
#include <string.h>
#include "engine/engine_internal.h"

/* Length of the valid UTF-8 sequence at P (N bytes available): 1..4, 0 if
 * invalid, -1 if P holds a valid prefix that N bytes cut short. */
static int seq_len(const unsigned char *p, size_t n)
{
	unsigned char b = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	int len;

	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF) {
		len = 2;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		if (b == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (b == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return len;
}

size_t cr_text_clean(char *out, size_t max, const unsigned char *src, size_t n, bool cut_end)
{
	size_t o = 0, i = 0;

	while (i < n) {
		int len;
		/* Printable ASCII, the common case, without decoding. */
		while (i < n && o < max && src[i] >= 0x20 && src[i] < 0x7F)
			out[o++] = (char)src[i++];
		if (i >= n || o >= max)
			break;
		len = seq_len(src + i, n - i);
		if (len < 0 && cut_end)
			break; /* the cut went through this character: leave it out */
		if (len == 1 && src[i] >= 0x20 && src[i] != 0x7F) {
			if (o + 1 > max)
				break;
			out[o++] = (char)src[i++];
		} else if (len >= 2 && !(len == 2 && src[i] == 0xC2 && src[i + 1] < 0xA0)) {
			if (o + (size_t)len > max)
				break; /* never cut a character */
			memcpy(out + o, src + i, (size_t)len);
			o += (size_t)len;
			i += (size_t)len;
		} else {
			/* Invalid byte, a C0/C1 control or DEL: one '?' for it. */
			if (o + 1 > max)
				break;
			out[o++] = '?';
			i += len == 2 ? 2 : 1;
		}
	}
	out[o] = '\0';
	return o;
}

void cr_text_vprintf(char *out, size_t cap, const char *fmt, va_list ap)
{
	char tmp[8192];
	int n;

	if (cap == 0)
		return;
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0) {
		out[0] = '\0';
		return;
	}
	if ((size_t)n >= sizeof(tmp))
		n = (int)sizeof(tmp) - 1;
	cr_text_clean(out, cap - 1, (const unsigned char *)tmp, (size_t)n, true);
}

void cr_text_printf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cr_text_vprintf(out, cap, fmt, ap);
	va_end(ap);
}
