/* Renderers: the documents a node is sent, generated per request from the inventory (never
 * by a "sync" step). Pure: a resolved struct boot_ctx in, text out. */
#ifndef PXED_BOOT_RENDER_H
#define PXED_BOOT_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/inventory.h"
#include "boot/sbuf.h"

/** iPXE script: kernel + initrds over HTTP, `exit` for local boot. Returns 0, -ENOENT
 * (BOOT_REFUSE) or -ENOMEM. */
int render_ipxe(const struct boot_ctx *b, struct sbuf *out);
/** pxelinux config (pxelinux.cfg/...): KERNEL/INITRD/APPEND, LOCALBOOT 0 for local boot. */
int render_pxelinux(const struct boot_ctx *b, struct sbuf *out);
/** GRUB config: linux/initrd over HTTP, `exit` for local boot. */
int render_grub(const struct boot_ctx *b, struct sbuf *out);
/** Kickstart / preseed / autoinstall: the template text with variables expanded. */
int render_template(const struct boot_ctx *b, const char *tmpl, struct sbuf *out);
/** The profile's kernel command line with variables expanded (no newline). */
int render_cmdline(const struct boot_ctx *b, struct sbuf *out);

/* What a TFTP file name asks for (pxelinux's and GRUB's lookup orders). */
enum cfg_name_kind {
	CFG_NONE,    /* not a config lookup */
	CFG_MAC,     /* pxelinux.cfg/01-aa-bb-cc-dd-ee-ff, grub.cfg-01-aa-bb-cc-dd-ee-ff */
	CFG_HEXIP,   /* pxelinux.cfg/C0A80115 (or a shorter prefix), grub.cfg-C0A80115 */
	CFG_DEFAULT, /* pxelinux.cfg/default, grub.cfg */
	CFG_OTHER,   /* pxelinux.cfg/<uuid> and the like: never rendered */
};

struct cfg_name {
	enum cfg_name_kind kind;
	bool grub;	 /* GRUB naming rather than pxelinux */
	uint8_t mac[6];	 /* CFG_MAC */
	uint32_t hexip;	 /* CFG_HEXIP: the digits given, left-aligned (host order) */
	unsigned digits; /* CFG_HEXIP: 1..8 */
};

/**
 * Classify a confined TFTP path (a path_confine result). pxelinux: "pxelinux.cfg/NAME" in any
 * directory; GRUB: a last component "grub.cfg", "grub.cfg-01-MAC" or "grub.cfg-HEXIP". Hex
 * digits are accepted in either case for IPs, MACs are lower-case with dashes as the loaders
 * send them (upper-case accepted too). Always fills *out; returns 0.
 */
int render_parse_cfg_name(const char *rel, struct cfg_name *out);

/** The IP of a client as pxelinux writes it: 8 upper-case hex digits. */
void render_hexip(uint32_t ip_host_order, char out[9]);

#endif
