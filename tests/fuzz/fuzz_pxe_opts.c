/* Fuzz target: the PXE option parsers and builders (src/dhcp/pxe_opts.c).
 * The first byte picks nothing: every parser sees the same bytes (as option data); then a boot
 * menu is built from the input and must parse back to what was put in. */
#include "dhcp/pxe_opts.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define REQUIRE(c)                        \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(const uint8_t *data, size_t size)
{
	struct pxe_vendor_class vc;
	struct pxe_user_class uc;
	struct pxe_ipxe ix;
	struct pxe_vendor_info vi;
	struct pxe_ndi ndi;
	uint8_t guid[16];
	char text[37];
	uint16_t arch;
	size_t count;

	REQUIRE(pxe_parse_vendor_class(data, size, &vc) == 0);
	REQUIRE(vc.kind != PXE_VC_NONE && pxe_vc_kind_name(vc.kind));
	if (pxe_parse_user_class(data, size, &uc) == 0) {
		size_t total = 0;
		REQUIRE(uc.n >= 1 && uc.n <= PXE_MAX_USER_CLASSES);
		for (size_t i = 0; i < uc.n; i++) {
			REQUIRE(uc.cls[i].p >= data && uc.cls[i].p + uc.cls[i].len <= data + size);
			total += uc.cls[i].len;
		}
		REQUIRE(total <= size);
		(void)pxe_user_class_has(&uc, "iPXE");
	}
	if (pxe_parse_ipxe(data, size, &ix) == 0)
		(void)pxe_ipxe_feature_name(ix.features & -ix.features);
	if (pxe_parse_vendor(data, size, &vi) == 0 && vi.menu)
		REQUIRE(vi.menu >= data && vi.menu + vi.menu_len <= data + size);
	if (pxe_parse_client_arch(data, size, &arch, &count) == 0) {
		REQUIRE(count == size / 2);
		REQUIRE(pxe_arch_name(arch) != NULL);
	}
	(void)pxe_parse_ndi(data, size, &ndi);
	char name[32];
	size_t nl = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, nl);
	name[nl] = '\0';
	const struct pxe_arch *a = pxe_arch_by_name(name);
	if (a)
		REQUIRE(pxe_arch_lookup(a->code) == a);
	if (pxe_parse_uuid(data, size, guid) == 0) {
		pxe_format_guid(guid, text);
		REQUIRE(strlen(text) == 36);
	}
}

/* Build a menu from the input: items of (type, description) cut from the bytes. */
static void build_menu(const uint8_t *data, size_t size)
{
	struct pxe_boot_item items[4];
	char desc[4][64];
	uint8_t out[300];
	struct pxe_vendor_info vi;
	size_t n = 0, off = 0;

	while (n < 4 && off + 3 <= size) {
		size_t l = data[off + 2] % 64;
		if (off + 3 + l > size)
			break;
		memcpy(desc[n], data + off + 3, l);
		desc[n][l] = '\0';
		items[n] =
			(struct pxe_boot_item){.type = (uint16_t)(data[off] << 8 | data[off + 1]),
					       .desc = desc[n],
					       .server = (data[off] & 1) ? 0xc6120001 : 0};
		off += 3 + l;
		n++;
	}
	struct pxe_menu m = {.items = items, .n = n, .timeout = size ? data[0] : 0};
	int r = pxe_build_vendor_menu(&m, out, sizeof(out));
	if (r < 0) {
		REQUIRE(r == -EINVAL || r == -EMSGSIZE);
		return;
	}
	REQUIRE(r <= 255);
	REQUIRE(pxe_parse_vendor(out, (size_t)r, &vi) == 0);
	REQUIRE(vi.has_dc && (vi.dc & PXE_DC_NO_MULTICAST) && vi.menu && vi.prompt);
	REQUIRE(vi.prompt[0] == m.timeout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_all(data, size);
	build_menu(data, size);
	return 0;
}
