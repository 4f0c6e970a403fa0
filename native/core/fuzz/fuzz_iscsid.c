/*
 * libFuzzer target for the iscsid IPC codec: arbitrary bytes as a response
 * (for every command), and as a node record "key=value\n..." built for every
 * known layout. Invariants: no crash; a successful build has exactly the
 * layout's size; a failed build leaves the buffer zeroed (it may hold
 * secrets) and reports a key that was in the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isc/iscsid.h"

static uint8_t req[ISC_ISCSID_MAX_REQUEST];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int cmds[] = { 1, 2, 7, 8, 9, 10, 13 };
	struct isc_iscsid_response r;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		(void)isc_iscsid_parse_response(data, size, cmds[i], &r);

	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *keys[64], *values[64];
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && n < 64; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		keys[n] = line;
		values[n] = eq + 1;
		n++;
	}
	for (size_t li = 0; isc_iscsid_layout_at(li); li++) {
		const struct isc_rec_layout *l = isc_iscsid_layout_at(li);
		char bad[64];
		int rc = isc_iscsid_build_login(l, keys, values, n, req, sizeof(req), bad, sizeof(bad));
		if (rc >= 0) {
			if ((size_t)rc != isc_iscsid_layout_request_size(l))
				abort();
		} else {
			for (size_t b = 0; b < isc_iscsid_layout_request_size(l); b++)
				if (req[b])
					abort();
		}
	}
	free(text);
	return 0;
}
