/*
 * libFuzzer target: isc_ibft_parse over arbitrary bytes, twice per input:
 * once as given, and once with the header length set to the input size
 * and the checksum repaired, so the fuzzer gets past the two checks that
 * would otherwise reject almost every mutation and reaches the structure,
 * string and NIC-association checks. Accepted tables must keep the
 * documented invariants (strings shorter than the table, resolved NIC
 * index in range, terminated text fields); rejected ones must leave *out
 * NULL and a non-empty message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isc/ibft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t limit)
{
	if (s && strlen(s) >= limit)
		abort();
}

static void check_ip(const struct isc_ibft_ip *ip)
{
	if (memchr(ip->text, '\0', sizeof(ip->text)) == NULL)
		abort();
	if (ip->present != (ip->family == 4 || ip->family == 6) || (!ip->present && ip->text[0]))
		abort();
}

static void run(const uint8_t *data, size_t size)
{
	struct isc_ibft *t = NULL;
	char err[256];
	int rc = isc_ibft_parse(data, size, &t, err, sizeof(err));

	if (rc != 0) {
		if (t != NULL || err[0] == '\0')
			abort();
		return;
	}
	if (!t || t->length > size || t->nic_count > t->pair_count || t->target_count > t->pair_count)
		abort();
	check_str(t->initiator.name, t->length);
	check_ip(&t->initiator.isns_server);
	for (size_t i = 0; i < t->nic_count; i++) {
		check_str(t->nics[i].hostname, t->length);
		check_ip(&t->nics[i].ip);
		check_ip(&t->nics[i].gateway);
		if (strlen(t->nics[i].subnet_mask) > 15 || strlen(t->nics[i].mac_text) != 17)
			abort();
	}
	for (size_t i = 0; i < t->target_count; i++) {
		const struct isc_ibft_target *g = &t->targets[i];
		if (g->nic >= t->nic_count || t->nics[g->nic].index != g->nic_assoc)
			abort();
		if (g->chap_type > 2 || g->flags == 0 || strlen(g->lun_sysfs) > 16)
			abort();
		check_ip(&g->ip);
		check_str(g->target_name, t->length);
		check_str(g->chap_name, t->length);
		check_str(g->chap_secret, t->length);
		check_str(g->rev_chap_name, t->length);
		check_str(g->rev_chap_secret, t->length);
	}
	(void)isc_ibft_boot_nic(t);
	(void)isc_ibft_boot_target(t);
	isc_ibft_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint8_t sum = 0;

	run(data, size);
	if (size < 10 || size > ISC_IBFT_MAX_LEN)
		return 0;
	copy = malloc(size); /* exact size, so ASan catches any overread */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[4] = (uint8_t)size;
	copy[5] = (uint8_t)(size >> 8);
	copy[6] = (uint8_t)(size >> 16);
	copy[7] = (uint8_t)(size >> 24);
	copy[9] = 0;
	for (size_t i = 0; i < size; i++)
		sum = (uint8_t)(sum + copy[i]);
	copy[9] = (uint8_t)(0x100 - sum);
	run(copy, size);
	free(copy);
	return 0;
}
