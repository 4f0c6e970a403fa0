/*
 * Small helpers shared by the core that do not belong to one codec.
 */
#include <string.h>

#include "bytes.h"

/* explicit_bzero (glibc >= 2.25, _GNU_SOURCE) is documented never to be
 * removed as a dead store, unlike a memset() right before free(). Secrets
 * (CHAP secrets, text buffers that held CHAP values) go through here. */
void isc_memzero(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}
