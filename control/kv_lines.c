/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The line framing of the UAPI and CLI requests (kv_lines.h).
 */
#include "kv_lines.h"

#include <string.h>

bool kv_lines_next(const char *text, size_t len, size_t *pos,
		   struct kv_span *line)
{
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', len - *pos);

	if (!nl) {
		*line = (struct kv_span){ start, len - *pos };
		return false;
	}
	*line = (struct kv_span){ start, (size_t)(nl - start) };
	if (line->n > 0 && start[line->n - 1] == '\r')
		line->n--;
	*pos = (size_t)(nl - text) + 1;
	return true;
}

size_t kv_lines_request_end(const char *buf, size_t len)
{
	size_t pos = 0;
	struct kv_span line;

	while (kv_lines_next(buf, len, &pos, &line))
		if (line.n == 0)
			return pos;
	return 0;
}

bool kv_span_is(struct kv_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

const char *kv_span_quote(char *out, size_t max, struct kv_span s)
{
	size_t n = s.n < max ? s.n : max, i;

	for (i = 0; i < n; i++)
		out[i] = (s.p[i] >= 0x20 && s.p[i] < 0x7f) ? s.p[i] : '?';
	if (s.n > max)
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = '\0';
	return out;
}
