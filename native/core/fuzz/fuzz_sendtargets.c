/*
 * libFuzzer target: a SendTargets Text Response data segment through
 * isc_text_parse + isc_sendtargets_parse (default portal 127.0.0.1:3260),
 * and the same bytes as one NUL-terminated string through
 * isc_target_address_parse, isc_iscsi_name_valid and
 * isc_parse_numeric_portal. Checks that accepted results keep the
 * documented invariants (valid names, NUL-terminated addresses, non-zero
 * ports, every target with at least one portal).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "isc/iscsi.h"
#include "sendtargets.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_portal(const struct isc_portal *p)
{
	if (memchr(p->address, '\0', sizeof(p->address)) == NULL || p->address[0] == '\0' ||
	    p->port == 0 || (!p->has_tpgt && p->tpgt != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isc_kv_list kv;
	struct isc_discovery *d = NULL;
	char err[256];
	char *str;

	isc_kv_list_init(&kv);
	if (isc_text_parse(data, size, &kv) == 0) {
		if (isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < d->target_count; i++) {
				const struct isc_target_entry *t = &d->targets[i];
				if (!isc_iscsi_name_valid(t->name) || t->portal_count == 0)
					abort();
				for (size_t k = 0; k < t->portal_count; k++)
					check_portal(&t->portals[k]);
			}
			isc_discovery_free(d);
		} else if (d != NULL || memchr(err, '\0', sizeof(err)) == NULL) {
			abort();
		}
	}
	isc_kv_list_free(&kv);

	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	{
		struct isc_portal p;
		struct sockaddr_storage ss;
		socklen_t sl;
		if (isc_target_address_parse(str, &p) == 0)
			check_portal(&p);
		(void)isc_iscsi_name_valid(str);
		if (isc_parse_numeric_portal(str, 3260, &ss, &sl) == 0 &&
		    (sl > sizeof(ss) || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)))
			abort();
	}
	free(str);
	return 0;
}
