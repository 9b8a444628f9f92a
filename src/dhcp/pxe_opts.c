/* PXE option helpers; see pxe_opts.h and docs/dhcp-wire.md. */
#include "dhcp/pxe_opts.h"

#include "core/buf.h"
#include "dhcp/dhcp_wire.h"

#include <errno.h>
#include <string.h>

/* ---- Architecture table ---- */

#define ARCH(c, n, f, fw_, h, d) \
	[c] = {.code = c, .name = n, .family = f, .desc = d, .fw = fw_, .http = h}

/* IANA "Processor Architecture Types" (DHCPv6 parameters registry, shared by DHCPv4 option 93),
 * types 0..41. Type 7 is x64 UEFI and 9 is EBC (RFC 4578 erratum 4624); firmware that followed
 * the original RFC text sends 9 for x64, so 9 and 17 share the x64 family. */
static const struct pxe_arch arch_table[PXE_ARCH_MAX_KNOWN + 1] = {
	ARCH(0, "bios", "bios", PXE_FW_BIOS, false, "x86 BIOS"),
	ARCH(1, "pc98", "pc98", PXE_FW_OTHER, false, "NEC/PC98 (deprecated)"),
	ARCH(2, "uefi-ia64", "uefi-ia64", PXE_FW_UEFI, false, "Itanium"),
	ARCH(3, "alpha", "alpha", PXE_FW_OTHER, false, "DEC Alpha (deprecated)"),
	ARCH(4, "arc-x86", "arc-x86", PXE_FW_OTHER, false, "Arc x86 (deprecated)"),
	ARCH(5, "lean-client", "lean-client", PXE_FW_OTHER, false,
	     "Intel Lean Client (deprecated)"),
	ARCH(6, "uefi-ia32", "uefi-ia32", PXE_FW_UEFI, false, "x86 UEFI"),
	ARCH(7, "uefi-x64", "uefi-x64", PXE_FW_UEFI, false, "x64 UEFI"),
	ARCH(8, "uefi-xscale", "uefi-xscale", PXE_FW_UEFI, false, "EFI Xscale (deprecated)"),
	ARCH(9, "uefi-ebc", "uefi-x64", PXE_FW_UEFI, false, "EBC"),
	ARCH(10, "uefi-arm32", "uefi-arm32", PXE_FW_UEFI, false, "ARM 32-bit UEFI"),
	ARCH(11, "uefi-arm64", "uefi-arm64", PXE_FW_UEFI, false, "ARM 64-bit UEFI"),
	ARCH(12, "ppc-ofw", "ppc-ofw", PXE_FW_OTHER, false, "PowerPC Open Firmware"),
	ARCH(13, "ppc-epapr", "ppc-epapr", PXE_FW_OTHER, false, "PowerPC ePAPR"),
	ARCH(14, "power-opal", "power-opal", PXE_FW_OTHER, false, "POWER OPAL v3"),
	ARCH(15, "uefi-ia32-http", "uefi-ia32", PXE_FW_UEFI, true, "x86 UEFI boot from HTTP"),
	ARCH(16, "uefi-x64-http", "uefi-x64", PXE_FW_UEFI, true, "x64 UEFI boot from HTTP"),
	ARCH(17, "uefi-ebc-http", "uefi-x64", PXE_FW_UEFI, true, "EBC boot from HTTP"),
	ARCH(18, "uefi-arm32-http", "uefi-arm32", PXE_FW_UEFI, true,
	     "ARM 32-bit UEFI boot from HTTP"),
	ARCH(19, "uefi-arm64-http", "uefi-arm64", PXE_FW_UEFI, true,
	     "ARM 64-bit UEFI boot from HTTP"),
	ARCH(20, "bios-http", "bios", PXE_FW_BIOS, true, "x86 BIOS boot from HTTP"),
	ARCH(21, "uboot-arm32", "uboot-arm32", PXE_FW_UBOOT, false, "ARM 32-bit uboot"),
	ARCH(22, "uboot-arm64", "uboot-arm64", PXE_FW_UBOOT, false, "ARM 64-bit uboot"),
	ARCH(23, "uboot-arm32-http", "uboot-arm32", PXE_FW_UBOOT, true,
	     "ARM uboot 32 boot from HTTP"),
	ARCH(24, "uboot-arm64-http", "uboot-arm64", PXE_FW_UBOOT, true,
	     "ARM uboot 64 boot from HTTP"),
	ARCH(25, "uefi-riscv32", "uefi-riscv32", PXE_FW_UEFI, false, "RISC-V 32-bit UEFI"),
	ARCH(26, "uefi-riscv32-http", "uefi-riscv32", PXE_FW_UEFI, true,
	     "RISC-V 32-bit UEFI boot from HTTP"),
	ARCH(27, "uefi-riscv64", "uefi-riscv64", PXE_FW_UEFI, false, "RISC-V 64-bit UEFI"),
	ARCH(28, "uefi-riscv64-http", "uefi-riscv64", PXE_FW_UEFI, true,
	     "RISC-V 64-bit UEFI boot from HTTP"),
	ARCH(29, "uefi-riscv128", "uefi-riscv128", PXE_FW_UEFI, false, "RISC-V 128-bit UEFI"),
	ARCH(30, "uefi-riscv128-http", "uefi-riscv128", PXE_FW_UEFI, true,
	     "RISC-V 128-bit UEFI boot from HTTP"),
	ARCH(31, "s390-basic", "s390-basic", PXE_FW_OTHER, false, "s390 Basic"),
	ARCH(32, "s390-extended", "s390-extended", PXE_FW_OTHER, false, "s390 Extended"),
	ARCH(33, "uefi-mips32", "uefi-mips32", PXE_FW_UEFI, false, "MIPS 32-bit UEFI"),
	ARCH(34, "uefi-mips64", "uefi-mips64", PXE_FW_UEFI, false, "MIPS 64-bit UEFI"),
	ARCH(35, "uefi-sunway32", "uefi-sunway32", PXE_FW_UEFI, false, "Sunway 32-bit UEFI"),
	ARCH(36, "uefi-sunway64", "uefi-sunway64", PXE_FW_UEFI, false, "Sunway 64-bit UEFI"),
	ARCH(37, "uefi-loongarch32", "uefi-loongarch32", PXE_FW_UEFI, false,
	     "LoongArch 32-bit UEFI"),
	ARCH(38, "uefi-loongarch32-http", "uefi-loongarch32", PXE_FW_UEFI, true,
	     "LoongArch 32-bit UEFI boot from HTTP"),
	ARCH(39, "uefi-loongarch64", "uefi-loongarch64", PXE_FW_UEFI, false,
	     "LoongArch 64-bit UEFI"),
	ARCH(40, "uefi-loongarch64-http", "uefi-loongarch64", PXE_FW_UEFI, true,
	     "LoongArch 64-bit UEFI boot from HTTP"),
	ARCH(41, "rpiboot", "rpiboot", PXE_FW_OTHER, false, "ARM rpiboot"),
};

const struct pxe_arch *pxe_arch_lookup(uint16_t code)
{
	return code <= PXE_ARCH_MAX_KNOWN ? &arch_table[code] : NULL;
}

const struct pxe_arch *pxe_arch_by_name(const char *name)
{
	for (size_t i = 0; i <= PXE_ARCH_MAX_KNOWN; i++)
		if (strcmp(arch_table[i].name, name) == 0)
			return &arch_table[i];
	return NULL;
}

const char *pxe_arch_name(uint16_t code)
{
	const struct pxe_arch *a = pxe_arch_lookup(code);

	return a ? a->name : "unknown";
}

int pxe_parse_client_arch(const uint8_t *p, size_t len, uint16_t *first, size_t *count)
{
	if (len == 0 || len % 2) /* RFC 4578 §2.1: MUST be an even number greater than zero */
		return -EBADMSG;
	*first = (uint16_t)(p[0] << 8 | p[1]);
	if (count)
		*count = len / 2;
	return 0;
}

/* ---- Vendor class ---- */

struct vc_prefix {
	const char *s;
	enum pxe_vc_kind kind;
	bool whole_word; /* must be followed by ':' or the end */
};

static const struct vc_prefix vc_prefixes[] = {
	{"PXEClient", PXE_VC_PXE, true},
	{"HTTPClient", PXE_VC_HTTP, true},
	{"Etherboot", PXE_VC_ETHERBOOT, false},
};

/* Exactly n decimal digits at p (within len), followed by ':' or the end. */
static bool read_digits(const uint8_t *p, size_t len, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (len < n || (len > n && p[n] != ':'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* Find ":<key>:" in p and view what follows it. */
static bool find_field(const uint8_t *p, size_t len, const char *key, const uint8_t **val,
		       size_t *vlen)
{
	size_t klen = strlen(key);
	const uint8_t *k = memmem(p, len, key, klen);

	if (!k)
		return false;
	*val = k + klen;
	*vlen = len - (size_t)(*val - p);
	return true;
}

/* ":Arch:xxxxx" and ":UNDI:yyyzzz" of PXEClient / HTTPClient (PXE 2.1 §2.2, option 60). */
static void vc_fields(const uint8_t *p, size_t len, struct pxe_vendor_class *vc)
{
	const uint8_t *v;
	size_t vlen;
	uint32_t x;

	if (find_field(p, len, ":Arch:", &v, &vlen) && read_digits(v, vlen, 5, &x) && x <= 0xffff) {
		vc->has_arch = true;
		vc->arch = (uint16_t)x;
	}
	uint32_t major, minor;
	if (find_field(p, len, ":UNDI:", &v, &vlen) && vlen >= 6 && read_digits(v, 3, 3, &major) &&
	    read_digits(v + 3, vlen - 3, 3, &minor) && major <= 255 && minor <= 255) {
		vc->has_undi = true;
		vc->undi_major = (uint8_t)major;
		vc->undi_minor = (uint8_t)minor;
	}
}

int pxe_parse_vendor_class(const uint8_t *p, size_t len, struct pxe_vendor_class *out)
{
	struct pxe_vendor_class vc = {.kind = PXE_VC_OTHER};

	for (size_t i = 0; i < sizeof(vc_prefixes) / sizeof(vc_prefixes[0]); i++) {
		const struct vc_prefix *pre = &vc_prefixes[i];
		size_t n = strlen(pre->s);
		if (len < n || memcmp(p, pre->s, n) != 0)
			continue;
		if (pre->whole_word && len > n && p[n] != ':')
			continue;
		vc.kind = pre->kind;
		break;
	}
	if (vc.kind == PXE_VC_PXE || vc.kind == PXE_VC_HTTP)
		vc_fields(p, len, &vc);
	*out = vc;
	return 0;
}

const char *pxe_vc_kind_name(enum pxe_vc_kind kind)
{
	static const char *const names[] = {
		[PXE_VC_NONE] = "none",	      [PXE_VC_PXE] = "PXEClient",
		[PXE_VC_HTTP] = "HTTPClient", [PXE_VC_ETHERBOOT] = "Etherboot",
		[PXE_VC_OTHER] = "other",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "other";
}

/* ---- NDI, UUID ---- */

int pxe_parse_ndi(const uint8_t *p, size_t len, struct pxe_ndi *out)
{
	if (len != 3 || p[0] != 1) /* RFC 4578 §2.2: type 1 (UNDI), major, minor */
		return -EBADMSG;
	*out = (struct pxe_ndi){.type = p[0], .major = p[1], .minor = p[2]};
	return 0;
}

int pxe_parse_uuid(const uint8_t *p, size_t len, uint8_t guid[16])
{
	if (len != 17 || p[0] != 0) /* RFC 4578 §2.3: type 0, then a 16-byte GUID */
		return -EBADMSG;
	memcpy(guid, p + 1, 16);
	return 0;
}

void pxe_format_guid(const uint8_t guid[16], char out[37])
{
	/* wire byte for each text position: fields 1-3 swapped, 4-5 as they are */
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[guid[order[i]] >> 4];
		out[o++] = hex[guid[order[i]] & 15];
	}
	out[o] = '\0';
}

int pxe_echo_client_ids(struct dhcp_reply_builder *rb, const struct dhcp_msg *req)
{
	uint8_t guid[16];
	struct pxe_ndi ndi;
	size_t len;
	const uint8_t *p;
	int rc;

	p = dhcp_opt(req, DHCP_OPT_CLIENT_UUID, &len);
	if (p && pxe_parse_uuid(p, len, guid) == 0 &&
	    (rc = dhcp_rb_add(rb, DHCP_OPT_CLIENT_UUID, p, len)) < 0)
		return rc;
	p = dhcp_opt(req, DHCP_OPT_CLIENT_NDI, &len);
	if (p && pxe_parse_ndi(p, len, &ndi) == 0 &&
	    (rc = dhcp_rb_add(rb, DHCP_OPT_CLIENT_NDI, p, len)) < 0)
		return rc;
	return 0;
}

/* ---- User class ---- */

/* RFC 3004 §4 framing: (len >= 1, data) items that exactly fill the option. */
static bool user_class_framed(const uint8_t *p, size_t len, struct pxe_user_class *uc)
{
	size_t off = 0;

	uc->n = 0;
	while (off < len) {
		size_t l = p[off];
		if (l == 0 || l > len - off - 1)
			return false;
		if (uc->n < PXE_MAX_USER_CLASSES) {
			uc->cls[uc->n].p = p + off + 1;
			uc->cls[uc->n].len = l;
			uc->n++;
		}
		off += 1 + l;
	}
	return true;
}

int pxe_parse_user_class(const uint8_t *p, size_t len, struct pxe_user_class *out)
{
	struct pxe_user_class uc = {0};

	if (len == 0)
		return -EBADMSG;
	if (!user_class_framed(p, len, &uc)) {
		uc.raw = true; /* iPXE / gPXE: the bare string */
		uc.n = 1;
		uc.cls[0].p = p;
		uc.cls[0].len = len;
	}
	*out = uc;
	return 0;
}

bool pxe_user_class_has(const struct pxe_user_class *uc, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < uc->n; i++)
		if (uc->cls[i].len == n && memcmp(uc->cls[i].p, s, n) == 0)
			return true;
	return false;
}

/* ---- iPXE option 175 ---- */

struct ipxe_feature {
	uint8_t code;
	uint32_t bit;
	const char *name;
};

/* iPXE feature indicator sub-options (the "ipxe" option space of iPXE's dhcpd docs). */
static const struct ipxe_feature ipxe_features[] = {
	{16, PXE_IPXE_PXEEXT, "pxeext"},   {17, PXE_IPXE_ISCSI, "iscsi"},
	{18, PXE_IPXE_AOE, "aoe"},	   {19, PXE_IPXE_HTTP, "http"},
	{20, PXE_IPXE_HTTPS, "https"},	   {21, PXE_IPXE_TFTP, "tftp"},
	{22, PXE_IPXE_FTP, "ftp"},	   {23, PXE_IPXE_DNS, "dns"},
	{24, PXE_IPXE_BZIMAGE, "bzimage"}, {25, PXE_IPXE_MULTIBOOT, "multiboot"},
	{26, PXE_IPXE_SLAM, "slam"},	   {27, PXE_IPXE_SRP, "srp"},
	{32, PXE_IPXE_NBI, "nbi"},	   {33, PXE_IPXE_PXE, "pxe"},
	{34, PXE_IPXE_ELF, "elf"},	   {35, PXE_IPXE_COMBOOT, "comboot"},
	{36, PXE_IPXE_EFI, "efi"},	   {37, PXE_IPXE_FCOE, "fcoe"},
	{38, PXE_IPXE_VLAN, "vlan"},	   {39, PXE_IPXE_MENU, "menu"},
	{40, PXE_IPXE_SDI, "sdi"},	   {41, PXE_IPXE_NFS, "nfs"},
};

#define N_IPXE_FEATURES (sizeof(ipxe_features) / sizeof(ipxe_features[0]))

/*
 * Next sub-option of an encapsulated option space (RFC 2132 §8.4 style: code, length, data;
 * pad 0 skipped, end 255 stops). 1 with a view, 0 at the end, -EBADMSG when truncated.
 */
static int subopt_next(struct rd *r, uint8_t *code, const uint8_t **data, uint8_t *len)
{
	uint8_t c, l;

	do {
		if (!rd_u8(r, &c))
			return 0;
	} while (c == 0);
	if (c == 255)
		return 0;
	if (!rd_u8(r, &l) || !rd_view(r, l, data))
		return -EBADMSG;
	*code = c;
	*len = l;
	return 1;
}

/* Record one 175 sub-option: a feature flag, the version, the bus id, or nothing (ignored on
 * purpose). */
static void ipxe_subopt(uint8_t code, const uint8_t *d, uint8_t len, struct pxe_ipxe *x)
{
	if (code == PXE_IPXE_SUBOPT_VERSION && len == 3) {
		x->has_version = true;
		memcpy(x->version, d, 3);
		return;
	}
	if (code == PXE_IPXE_SUBOPT_BUS_ID && len >= 1) {
		x->has_bus_id = true;
		x->bus_type = d[0];
		return;
	}
	for (size_t i = 0; i < N_IPXE_FEATURES; i++)
		if (ipxe_features[i].code == code && len >= 1 && d[0] != 0)
			x->features |= ipxe_features[i].bit;
}

int pxe_parse_ipxe(const uint8_t *p, size_t len, struct pxe_ipxe *out)
{
	struct pxe_ipxe x = {0};
	struct rd r;
	const uint8_t *d;
	uint8_t code, l;
	int rc;

	rd_init(&r, p, len);
	while ((rc = subopt_next(&r, &code, &d, &l)) > 0)
		ipxe_subopt(code, d, l, &x);
	if (rc < 0)
		return rc;
	*out = x;
	return 0;
}

const char *pxe_ipxe_feature_name(uint32_t bit)
{
	for (size_t i = 0; i < N_IPXE_FEATURES; i++)
		if (ipxe_features[i].bit == bit)
			return ipxe_features[i].name;
	return NULL;
}

/* ---- Client summary ---- */

/* Architecture: option 93 (first entry) wins; a malformed 93 falls back to 60's Arch. */
static void client_arch(const struct dhcp_msg *msg, struct pxe_client *c)
{
	size_t len;
	const uint8_t *p = dhcp_opt(msg, DHCP_OPT_CLIENT_ARCH, &len);
	uint16_t a;

	if (p && pxe_parse_client_arch(p, len, &a, NULL) == 0) {
		c->arch_src = PXE_ARCH_SRC_93;
		c->arch = a;
		return;
	}
	c->bad_93 = p != NULL;
	if (c->vc.has_arch) {
		c->arch_src = PXE_ARCH_SRC_60;
		c->arch = c->vc.arch;
	}
}

/* iPXE: user class "iPXE" or option 175. */
static void client_ipxe(const struct dhcp_msg *msg, struct pxe_client *c)
{
	size_t len;
	const uint8_t *p = dhcp_opt(msg, DHCP_OPT_USER_CLASS, &len);

	if (p && pxe_parse_user_class(p, len, &c->uc) == 0) {
		c->has_uc = true;
		c->ipxe_by_uc = pxe_user_class_has(&c->uc, "iPXE");
	}
	p = dhcp_opt(msg, DHCP_OPT_IPXE_ENCAP, &len);
	if (p) {
		c->ipxe_by_175 = true;
		pxe_parse_ipxe(p, len, &c->ipxe);
	}
	c->is_ipxe = c->ipxe_by_uc || c->ipxe_by_175;
}

int pxe_client_info(const struct dhcp_msg *msg, struct pxe_client *out)
{
	struct pxe_client c;
	size_t len;
	const uint8_t *p;

	memset(&c, 0, sizeof(c));
	p = dhcp_opt(msg, DHCP_OPT_VENDOR_CLASS, &len);
	if (p)
		pxe_parse_vendor_class(p, len, &c.vc);
	client_arch(msg, &c);
	p = dhcp_opt(msg, DHCP_OPT_CLIENT_NDI, &len);
	c.has_ndi = p && pxe_parse_ndi(p, len, &c.ndi) == 0;
	p = dhcp_opt(msg, DHCP_OPT_CLIENT_UUID, &len);
	c.has_uuid = p && pxe_parse_uuid(p, len, c.uuid) == 0;
	client_ipxe(msg, &c);
	*out = c;
	return 0;
}

/* ---- Option 43 ---- */

int pxe_build_vendor_plain(uint8_t *buf, size_t cap)
{
	struct wr w;

	wr_init(&w, buf, cap);
	wr_u8(&w, PXE_SUB_DISCOVERY_CONTROL);
	wr_u8(&w, 1);
	wr_u8(&w, PXE_DC_USE_BOOTFILE);
	wr_u8(&w, PXE_SUB_END);
	return wr_result(&w);
}

/* Sizes of sub-options 8 and 9 for a menu; -EINVAL for a bad item, -EMSGSIZE when a
 * sub-option would exceed 255 bytes. */
static int menu_sizes(const struct pxe_menu *m, size_t *servers, size_t *menu)
{
	*servers = 0;
	*menu = 0;
	if (m->n == 0)
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++) {
		size_t dl = strlen(m->items[i].desc);
		if (dl > 255)
			return -EINVAL;
		*menu += 3 + dl; /* type, length, text */
		if (m->items[i].server)
			*servers += 7; /* type, count 1, address */
	}
	return *servers > 255 || *menu > 255 ? -EMSGSIZE : 0;
}

/* Sub-option 8: one (type, 1, address) entry per item that names its server. */
static void put_servers(struct wr *w, const struct pxe_menu *m, size_t size)
{
	if (!size)
		return;
	wr_u8(w, PXE_SUB_BOOT_SERVERS);
	wr_u8(w, (uint8_t)size);
	for (size_t i = 0; i < m->n; i++) {
		if (!m->items[i].server)
			continue;
		wr_u16be(w, m->items[i].type);
		wr_u8(w, 1);
		wr_u32be(w, m->items[i].server);
	}
}

/* Sub-option 9: (type, length, description) per item. */
static void put_menu(struct wr *w, const struct pxe_menu *m, size_t size)
{
	wr_u8(w, PXE_SUB_BOOT_MENU);
	wr_u8(w, (uint8_t)size);
	for (size_t i = 0; i < m->n; i++) {
		size_t dl = strlen(m->items[i].desc);
		wr_u16be(w, m->items[i].type);
		wr_u8(w, (uint8_t)dl);
		wr_bytes(w, m->items[i].desc, dl);
	}
}

int pxe_build_vendor_menu(const struct pxe_menu *menu, uint8_t *buf, size_t cap)
{
	const char *prompt = menu->prompt ? menu->prompt : "PXE";
	size_t plen = strlen(prompt), servers, msize;
	uint8_t dc = PXE_DC_NO_MULTICAST;
	struct wr w;
	int rc;

	if ((rc = menu_sizes(menu, &servers, &msize)) < 0)
		return rc;
	if (plen > 254)
		return -EINVAL;
	if (servers == 7 * menu->n)
		dc |= PXE_DC_NO_BROADCAST; /* every item has its server: unicast discovery only */
	size_t total = 3 + (servers ? 2 + servers : 0) + 2 + msize + 2 + 1 + plen + 1;
	if (total > 255)
		return -EMSGSIZE;
	wr_init(&w, buf, cap);
	wr_u8(&w, PXE_SUB_DISCOVERY_CONTROL);
	wr_u8(&w, 1);
	wr_u8(&w, dc);
	put_servers(&w, menu, servers);
	put_menu(&w, menu, msize);
	wr_u8(&w, PXE_SUB_MENU_PROMPT);
	wr_u8(&w, (uint8_t)(1 + plen));
	wr_u8(&w, menu->timeout);
	wr_bytes(&w, prompt, plen);
	wr_u8(&w, PXE_SUB_END);
	return wr_result(&w);
}

int pxe_build_vendor_boot_item(uint16_t type, uint16_t layer, uint8_t *buf, size_t cap)
{
	struct wr w;

	wr_init(&w, buf, cap);
	wr_u8(&w, PXE_SUB_BOOT_ITEM);
	wr_u8(&w, 4);
	wr_u16be(&w, type);
	wr_u16be(&w, layer);
	wr_u8(&w, PXE_SUB_END);
	return wr_result(&w);
}

/* Record one option 43 sub-option; fixed sizes checked, unknown ones ignored on purpose. */
static int vendor_subopt(uint8_t code, const uint8_t *d, uint8_t len, struct pxe_vendor_info *v)
{
	switch (code) {
	case PXE_SUB_DISCOVERY_CONTROL:
		if (len != 1)
			return -EBADMSG;
		v->has_dc = true;
		v->dc = d[0];
		return 0;
	case PXE_SUB_BOOT_ITEM:
		if (len != 4)
			return -EBADMSG;
		v->has_boot_item = true;
		v->item_type = (uint16_t)(d[0] << 8 | d[1]);
		v->item_layer = (uint16_t)(d[2] << 8 | d[3]);
		return 0;
	case PXE_SUB_BOOT_SERVERS: v->servers = d, v->servers_len = len; return 0;
	case PXE_SUB_BOOT_MENU: v->menu = d, v->menu_len = len; return 0;
	case PXE_SUB_MENU_PROMPT: v->prompt = d, v->prompt_len = len; return 0;
	default: return 0;
	}
}

int pxe_parse_vendor(const uint8_t *p, size_t len, struct pxe_vendor_info *out)
{
	struct pxe_vendor_info v = {0};
	struct rd r;
	const uint8_t *d;
	uint8_t code, l;
	int rc;

	rd_init(&r, p, len);
	while ((rc = subopt_next(&r, &code, &d, &l)) > 0)
		if ((rc = vendor_subopt(code, d, l, &v)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	*out = v;
	return 0;
}
