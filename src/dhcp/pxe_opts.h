/* PXE-related DHCP options: client architecture (93, RFC 4578 §2.1 and the IANA "Processor
 * Architecture Types" registry), vendor class (60), client NDI (94), client machine id (97),
 * user class (77, RFC 3004), iPXE's encapsulated options (175), and the PXE vendor options (43)
 * of the PXE 2.1 specification. Pure code: parsers read byte views, builders write into caller
 * buffers; nothing allocates or logs. See docs/dhcp-wire.md.
 */
#ifndef PXED_DHCP_PXE_OPTS_H
#define PXED_DHCP_PXE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dhcp_msg;
struct dhcp_reply_builder;

/* ---- Architecture table (option 93) ---- */

/* Firmware kind of an architecture type. */
enum pxe_firmware {
	PXE_FW_BIOS,
	PXE_FW_UEFI,
	PXE_FW_UBOOT,
	PXE_FW_OTHER, /* Open Firmware, ePAPR, OPAL, s390, rpiboot, deprecated types */
};

/* Well-known codes (IANA registry; RFC 4578 §2.1 as corrected by erratum 4624). */
enum pxe_arch_code {
	PXE_ARCH_BIOS = 0,
	PXE_ARCH_UEFI_IA32 = 6,
	PXE_ARCH_UEFI_X64 = 7,
	PXE_ARCH_UEFI_EBC = 9, /* sent by some x64 firmware that read RFC 4578 before the erratum */
	PXE_ARCH_UEFI_ARM32 = 10,
	PXE_ARCH_UEFI_ARM64 = 11,
	PXE_ARCH_UEFI_IA32_HTTP = 15,
	PXE_ARCH_UEFI_X64_HTTP = 16,
	PXE_ARCH_UEFI_ARM64_HTTP = 19,
	PXE_ARCH_MAX_KNOWN = 41,
};

struct pxe_arch {
	uint16_t code;
	const char *name;   /* short stable name: "bios", "uefi-x64", "uefi-x64-http", ... */
	const char *family; /* same loader binaries: name without "-http" ("uefi-x64") */
	const char *desc;   /* registry description */
	enum pxe_firmware fw;
	bool http; /* boots from an HTTP(S) URI rather than TFTP */
};

/** Table entry for an architecture code, or NULL if not in the registry. */
const struct pxe_arch *pxe_arch_lookup(uint16_t code);
/** Table entry by its short name (exact match), or NULL. */
const struct pxe_arch *pxe_arch_by_name(const char *name);
/** Short name of code, or "unknown". Never NULL. */
const char *pxe_arch_name(uint16_t code);

/**
 * Option 93 (RFC 4578 §2.1): a list of 16-bit types; the length MUST be even and non-zero.
 * Returns 0 with the first type in *first and the number of types in *count (count may be
 * NULL), or -EBADMSG.
 */
int pxe_parse_client_arch(const uint8_t *p, size_t len, uint16_t *first, size_t *count);

/* ---- Vendor class (option 60) ---- */

enum pxe_vc_kind {
	PXE_VC_NONE,	  /* no option 60 */
	PXE_VC_PXE,	  /* "PXEClient[:...]" (PXE 2.1) */
	PXE_VC_HTTP,	  /* "HTTPClient[:...]" (UEFI 2.5+ HTTP boot) */
	PXE_VC_ETHERBOOT, /* "Etherboot-..." (Etherboot, early gPXE) */
	PXE_VC_OTHER,	  /* anything else ("udhcp 1.35.0", "MSFT 5.0", ...) */
};

struct pxe_vendor_class {
	enum pxe_vc_kind kind;
	bool has_arch;
	uint16_t arch; /* from ":Arch:xxxxx" (5 decimal digits) */
	bool has_undi;
	uint8_t undi_major; /* from ":UNDI:yyyzzz" (3 + 3 decimal digits) */
	uint8_t undi_minor;
};

/**
 * Classify option 60 data, e.g. "PXEClient:Arch:00007:UNDI:003016",
 * "HTTPClient:Arch:00016:UNDI:003001", "PXEClient", "Etherboot-5.4". Prefixes are case
 * sensitive, as the PXE spec writes them. A malformed Arch or UNDI field is simply absent.
 * Always succeeds (returns 0); len 0 gives PXE_VC_OTHER.
 */
int pxe_parse_vendor_class(const uint8_t *p, size_t len, struct pxe_vendor_class *out);

/** Name of a vendor class kind: "none", "PXEClient", "HTTPClient", "Etherboot", "other". */
const char *pxe_vc_kind_name(enum pxe_vc_kind kind);

/* ---- Client NDI (94) and machine id (97) ---- */

struct pxe_ndi {
	uint8_t type; /* 1 = UNDI */
	uint8_t major;
	uint8_t minor;
};

/** Option 94 (RFC 4578 §2.2): exactly 3 bytes, type 1 (UNDI). 0 or -EBADMSG. */
int pxe_parse_ndi(const uint8_t *p, size_t len, struct pxe_ndi *out);

/** Option 97 (RFC 4578 §2.3): exactly 17 bytes, type 0 then a 16-byte GUID (copied to guid
 * in wire order). 0 or -EBADMSG. */
int pxe_parse_uuid(const uint8_t *p, size_t len, uint8_t guid[16]);

/** Format a GUID from option 97 as text, the way dmidecode and `qemu -uuid` write it: the
 * first three fields are little-endian on the wire (SMBIOS 2.6 UUID layout, as sent by iPXE
 * and EDK2), so they are byte-swapped. 36 lower-case characters plus NUL. */
void pxe_format_guid(const uint8_t guid[16], char out[37]);

/**
 * Echo options 97 and 94 from req into a reply when they are valid (PXE servers return the
 * client's machine id; firmware matches replies on it). Invalid or absent ones are skipped.
 * Returns 0 or a builder error.
 */
int pxe_echo_client_ids(struct dhcp_reply_builder *rb, const struct dhcp_msg *req);

/* ---- User class (77) ---- */

#define PXE_MAX_USER_CLASSES 8

struct pxe_user_class {
	size_t n;
	bool raw; /* not RFC 3004 framed: the whole option is one class (iPXE, gPXE) */
	struct {
		const uint8_t *p; /* borrowed */
		size_t len;
	} cls[PXE_MAX_USER_CLASSES];
};

/**
 * Option 77. RFC 3004 §4 frames it as a list of (length, data) with each length >= 1; iPXE and
 * gPXE send a bare string ("iPXE") instead. Data that is not a well-framed list is taken as one
 * raw class. Beyond PXE_MAX_USER_CLASSES classes the rest are ignored. Borrows p.
 * Returns 0, or -EBADMSG for len 0.
 */
int pxe_parse_user_class(const uint8_t *p, size_t len, struct pxe_user_class *out);

/** True if one of the classes equals s exactly. */
bool pxe_user_class_has(const struct pxe_user_class *uc, const char *s);

/* ---- iPXE (user class "iPXE", option 175) ---- */

/* Feature indicators: sub-options of 175 (iPXE's "ipxe" option space), one bit each. */
enum pxe_ipxe_feature {
	PXE_IPXE_PXEEXT = 1u << 0,    /* 175.16 */
	PXE_IPXE_ISCSI = 1u << 1,     /* 175.17 */
	PXE_IPXE_AOE = 1u << 2,	      /* 175.18 */
	PXE_IPXE_HTTP = 1u << 3,      /* 175.19 */
	PXE_IPXE_HTTPS = 1u << 4,     /* 175.20 */
	PXE_IPXE_TFTP = 1u << 5,      /* 175.21 */
	PXE_IPXE_FTP = 1u << 6,	      /* 175.22 */
	PXE_IPXE_DNS = 1u << 7,	      /* 175.23 */
	PXE_IPXE_BZIMAGE = 1u << 8,   /* 175.24 */
	PXE_IPXE_MULTIBOOT = 1u << 9, /* 175.25 */
	PXE_IPXE_SLAM = 1u << 10,     /* 175.26 */
	PXE_IPXE_SRP = 1u << 11,      /* 175.27 */
	PXE_IPXE_NBI = 1u << 12,      /* 175.32 */
	PXE_IPXE_PXE = 1u << 13,      /* 175.33 */
	PXE_IPXE_ELF = 1u << 14,      /* 175.34 */
	PXE_IPXE_COMBOOT = 1u << 15,  /* 175.35 */
	PXE_IPXE_EFI = 1u << 16,      /* 175.36 */
	PXE_IPXE_FCOE = 1u << 17,     /* 175.37 */
	PXE_IPXE_VLAN = 1u << 18,     /* 175.38 */
	PXE_IPXE_MENU = 1u << 19,     /* 175.39 */
	PXE_IPXE_SDI = 1u << 20,      /* 175.40 */
	PXE_IPXE_NFS = 1u << 21,      /* 175.41 */
};

#define PXE_IPXE_SUBOPT_NO_PXEDHCP 176 /* server -> iPXE: do not wait for proxyDHCP */
#define PXE_IPXE_SUBOPT_BUS_ID	   177
#define PXE_IPXE_SUBOPT_VERSION	   235

struct pxe_ipxe {
	uint32_t features; /* enum pxe_ipxe_feature bits set to a non-zero value */
	bool has_version;  /* 175.235: three bytes, major, minor, build */
	uint8_t version[3];
	bool has_bus_id; /* 175.177: bus type (1 = PCI), then bus-specific id */
	uint8_t bus_type;
};

/**
 * Parse option 175 data: sub-options (code, length, data), pad 0 skipped, end 255 stops.
 * Unknown sub-options (and a version that is not 3 bytes) are ignored on purpose. Returns 0 or
 * -EBADMSG (a sub-option runs past the end).
 */
int pxe_parse_ipxe(const uint8_t *p, size_t len, struct pxe_ipxe *out);

/** Name of one feature bit ("http", "efi", ...), or NULL. */
const char *pxe_ipxe_feature_name(uint32_t bit);

/* ---- Everything about a client, in one call ---- */

enum pxe_arch_src {
	PXE_ARCH_SRC_NONE, /* not a PXE client, or no architecture given */
	PXE_ARCH_SRC_93,   /* option 93 */
	PXE_ARCH_SRC_60,   /* ":Arch:" of option 60 */
};

struct pxe_client {
	struct pxe_vendor_class vc;
	enum pxe_arch_src arch_src;
	uint16_t arch;
	bool bad_93; /* option 93 present but malformed (then 60 is used) */
	bool has_ndi;
	struct pxe_ndi ndi;
	bool has_uuid;
	uint8_t uuid[16];
	bool is_ipxe;	      /* user class "iPXE" or option 175 present */
	bool ipxe_by_uc;      /* ... because of user class "iPXE" */
	bool ipxe_by_175;     /* ... because of option 175 */
	struct pxe_ipxe ipxe; /* parsed 175 (zero if absent or malformed) */
	struct pxe_user_class uc;
	bool has_uc;
};

/**
 * Gather the PXE facts of a parsed request: vendor class, architecture (option 93 first,
 * falling back to option 60's Arch field), NDI, machine id, user class and iPXE detection.
 * Malformed optional pieces are left out (bad_93 records a broken 93). Views borrow from msg.
 * Always returns 0.
 */
int pxe_client_info(const struct dhcp_msg *msg, struct pxe_client *out);

/* ---- PXE vendor options, option 43 (PXE 2.1 §2.4 "DHCP options") ---- */

enum pxe_subopt {
	PXE_SUB_MTFTP_IP = 1,
	PXE_SUB_DISCOVERY_CONTROL = 6,
	PXE_SUB_MCAST_ADDR = 7,
	PXE_SUB_BOOT_SERVERS = 8,
	PXE_SUB_BOOT_MENU = 9,
	PXE_SUB_MENU_PROMPT = 10,
	PXE_SUB_BOOT_ITEM = 71,
	PXE_SUB_END = 255,
};

/* PXE_DISCOVERY_CONTROL bits. */
#define PXE_DC_NO_BROADCAST 0x01 /* bit 0: disable broadcast discovery */
#define PXE_DC_NO_MULTICAST 0x02 /* bit 1: disable multicast discovery */
#define PXE_DC_SERVER_LIST  0x04 /* bit 2: only use/accept servers in PXE_BOOT_SERVERS */
#define PXE_DC_USE_BOOTFILE 0x08 /* bit 3: boot file in the offer: download it, no menu/discovery */

/**
 * Option 43 for "the boot file is in this DHCP reply, do not discover boot servers":
 * PXE_DISCOVERY_CONTROL = 8 then end (what dnsmasq sends without a PXE menu). Without it, a PXE
 * ROM that sees "PXEClient" in option 60 may go on to boot server discovery and wait.
 * Returns bytes written (4) or -ENOSPC.
 */
int pxe_build_vendor_plain(uint8_t *buf, size_t cap);

struct pxe_boot_item {
	uint16_t type;	  /* boot server type; 0 = PXE bootstrap server */
	const char *desc; /* menu text */
	uint32_t server;  /* boot server address (host order) to list in sub-option 8, or 0 */
};

struct pxe_menu {
	const struct pxe_boot_item *items;
	size_t n;	    /* 1..; each item is one menu line */
	uint8_t timeout;    /* seconds before the first item is taken; 255 = wait for a key */
	const char *prompt; /* shown during the timeout; NULL = "PXE" */
};

/**
 * Option 43 with a boot menu (9), prompt (10), boot servers (8, items with a server address)
 * and discovery control (6): multicast discovery off (pxed does not serve it), broadcast
 * discovery off too when every item names its server (so clients unicast to port 4011).
 * This is the proxyDHCP form. Returns bytes written, -EINVAL (no items, a description longer
 * than 255 bytes), -EMSGSIZE (more than 255 bytes: old ROMs do not concatenate 43), -ENOSPC.
 */
int pxe_build_vendor_menu(const struct pxe_menu *menu, uint8_t *buf, size_t cap);

/** Option 43 for a boot server ACK on port 4011: PXE_BOOT_ITEM (71) = type, layer; then end.
 * Returns 7 or -ENOSPC. */
int pxe_build_vendor_boot_item(uint16_t type, uint16_t layer, uint8_t *buf, size_t cap);

/* What a client's (or a server's) option 43 says. */
struct pxe_vendor_info {
	bool has_dc;
	uint8_t dc;
	bool has_boot_item; /* client's boot server request (port 4011) */
	uint16_t item_type;
	uint16_t item_layer;
	const uint8_t *menu; /* sub-option 9 view, NULL if absent; borrowed */
	size_t menu_len;
	const uint8_t *servers; /* sub-option 8 view */
	size_t servers_len;
	const uint8_t *prompt; /* sub-option 10 view */
	size_t prompt_len;
};

/**
 * Parse option 43 PXE sub-options. Fixed sizes are checked (6: 1 byte, 71: 4 bytes); unknown
 * sub-options are ignored on purpose. Returns 0 or -EBADMSG. Borrows p.
 */
int pxe_parse_vendor(const uint8_t *p, size_t len, struct pxe_vendor_info *out);

#endif
