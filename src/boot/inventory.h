/* Inventory: which node a machine is, which profile it boots and why, and the values of the
 * ${...} variables its documents are rendered with. Pure: config and facts in, decision out. */
#ifndef PXED_BOOT_INVENTORY_H
#define PXED_BOOT_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pxed_config;
struct config_node;
struct config_group;
struct config_profile;
struct sbuf;

enum boot_action {
	BOOT_REFUSE,  /* no profile for this machine: render nothing (loader falls through) */
	BOOT_PROFILE, /* boot the profile's kernel */
	BOOT_LOCAL,   /* boot from the local disk (installer done, or not requested) */
};

/* Everything a renderer needs about one machine. Strings are owned copies. */
struct boot_ctx {
	const struct pxed_config *cfg;
	const struct config_node *node;	      /* NULL: unknown machine */
	const struct config_group *group;     /* group that chose the profile, or NULL */
	const struct config_profile *profile; /* NULL with BOOT_REFUSE */
	enum boot_action action;
	bool reinstall; /* one-shot flag from the store */
	uint8_t mac[6];
	char mac_str[18];  /* aa:bb:cc:dd:ee:ff */
	char ip[16];	   /* the machine's address, or "" */
	char server[64];   /* address (or name) the machine reaches pxed at */
	char http[96];	   /* http://SERVER[:PORT] */
	uint16_t arch;	   /* option 93 code; 0xffff unknown */
	char ks_token[40]; /* per-node secret for the kickstart URL, or "" */
	char why[160];	   /* which rule decided, for logs and `pxed render` */
};

/* Facts about the request. */
struct boot_facts {
	const uint8_t *mac; /* 6 bytes, or NULL when only the address is known */
	const char *ip;	    /* dotted quad or NULL */
	const char *server; /* our address as the machine sees it (local address of the request) */
	uint16_t arch;	    /* 0xffff unknown */
	bool reinstall;	    /* from the store */
	const char *ks_token;
};

/**
 * Resolve a machine: node by MAC (or by fixed IP when no MAC is given); profile from the node,
 * else the first [group] whose match-mac globs and match-arch names match, else
 * boot.default-profile, else BOOT_REFUSE. An installer profile (install = yes) is booted only
 * while the node's reinstall flag is set; otherwise BOOT_LOCAL. Always fills *out; returns 0.
 */
int inventory_resolve(const struct pxed_config *cfg, const struct boot_facts *f,
		      struct boot_ctx *out);

/**
 * Value of variable key for b: node var.*, then group var.*, then profile var.*, then the
 * built-ins: server, http, ip, mac, mac-hyphen (aa-bb-..), name, hostname, profile, arch,
 * ks-url (http://SERVER/ks/NAME?token=...), up-url, kernel-url, initrd-urls; for diskless = nfs
 * profiles nfs-server, nfs-path, nfs-root, nfs-options, nfs-rw (shared-root); for diskless = ram
 * image-url and overlay-url (known nodes). NULL if unknown.
 * buf (cap bytes) holds computed values.
 */
const char *boot_var(const struct boot_ctx *b, const char *key, char *buf, size_t cap);

/**
 * Append tmpl to out with ${name} replaced by boot_var values, recursively (a value may use
 * variables too, up to 8 levels). Unknown variables are kept literally; "$${x}" gives a
 * literal "${x}". Returns 0, or -ELOOP
 * when nesting goes too deep, -ENOMEM when out failed.
 */
int boot_expand_into(const struct boot_ctx *b, const char *tmpl, struct sbuf *out);

/** "http://SERVER[:PORT]/" + path, or path itself when it already has a scheme. */
void boot_url(const struct boot_ctx *b, const char *path, char *out, size_t cap);

/**
 * The NFS root of b as "SERVER:PATH" (DHCP option 17, ${nfs-root}): SERVER is diskless.nfs-server,
 * else boot.server, else b->server; PATH is diskless.root/NODE, or diskless.root/shared/PROFILE
 * for shared-root profiles. Returns 0, or -1 when b is not an NFS-root machine (no diskless = nfs
 * profile, or an unknown machine of a per-node profile) or out (cap bytes) is too small.
 */
int diskless_root_path(const struct boot_ctx *b, char *out, size_t cap);

/** True if mac (aa:bb:cc:dd:ee:ff) matches one of the comma-separated globs. */
bool inventory_mac_matches(const char *globs, const char *mac);

#endif
