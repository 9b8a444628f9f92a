/* Boot decision: which file (or URL) a client gets, from its architecture, its loader stage
 * (PXE ROM, UEFI HTTP boot, iPXE), its node and subnet. Pure; shared by the DHCP server and
 * the proxyDHCP / boot-server policies, and by `pxed render` later. */
#ifndef PXED_DHCP_BOOT_H
#define PXED_DHCP_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pxed_config;
struct config_subnet;
struct config_node;
struct config_profile;
struct pxe_client;

enum boot_stage {
	BOOT_STAGE_NONE, /* not a network-boot client (udhcpc, dhclient...) */
	BOOT_STAGE_PXE,	 /* firmware PXE ROM (BIOS or UEFI) */
	BOOT_STAGE_HTTP, /* UEFI HTTP boot (HTTPClient): the boot file is a URL */
	BOOT_STAGE_IPXE, /* iPXE (ROM or chainloaded) */
};

struct boot_choice {
	uint16_t arch;	       /* effective architecture code */
	const char *arch_name; /* "bios", "uefi-x64", ... */
	const char *arch_src;  /* "93", "60", "node", "default" */
	enum boot_stage stage;
	bool has_file;
	char file[256];	  /* boot file or URL, variables expanded */
	char reason[160]; /* which rule chose it, for the log and `pxed render` */
};

/* Values for ${...} in boot file names and URLs. */
struct boot_vars {
	const char *server;   /* dotted quad of the boot server (next-server) */
	const char *ip;	      /* the client's address, or "" */
	const char *mac;      /* aa:bb:cc:dd:ee:ff */
	const char *name;     /* node name, or "" */
	const char *hostname; /* node host name, or "" */
};

/* boot_vars made on demand, for callers that would rather not format values nobody uses:
 * fill(ctx) is called only when a template actually contains "${". */
struct boot_vars_src {
	const struct boot_vars *(*fill)(const void *ctx);
	const void *ctx;
};

/**
 * Decide the boot file for a client described by pc (from pxe_client_info), on subnet sn
 * (may be NULL: proxy mode), known as node (may be NULL). Architecture: node arch override,
 * else option 93, else option 60's Arch, else BIOS. Stage: iPXE if the client is iPXE, else
 * HTTP for HTTPClient / HTTP architectures, else PXE when the client is PXEClient or sent 93,
 * else NONE (ordinary DHCP clients get the BIOS file, like dhcpd's global filename). Files:
 * node override, then subnet, then [dhcp]. An iPXE client never gets an iPXE binary again
 * (undionly.kpxe, ipxe.efi, snponly.efi, *.kpxe, *.kkpxe): without boot-ipxe it gets no file,
 * so iPXE never chainloads itself in a loop. Always fills *out; returns 0.
 */
int boot_choose(const struct pxed_config *cfg, const struct config_subnet *sn,
		const struct config_node *node, const struct pxe_client *pc,
		const struct boot_vars *vars, struct boot_choice *out);

/** boot_choose with the ${...} values made by src only if a template needs them. */
int boot_choose_lazy(const struct pxed_config *cfg, const struct config_subnet *sn,
		     const struct config_node *node, const struct pxe_client *pc,
		     const struct boot_vars_src *src, struct boot_choice *out);

/**
 * As boot_choose, and when nothing is configured for the stage, derive the file from the
 * machine's profile (profile may be NULL: no derivation): iPXE gets the rendered script
 * http://${server}[:port]/boot/${mac}.ipxe (when [http] is enabled); PXE ROMs get the profile
 * loader's first stage: ipxe -> undionly.kpxe (BIOS) / ipxe.efi (UEFI); pxelinux ->
 * pxelinux.0 / syslinux.efi; grub -> undionly.kpxe (BIOS) / grubnetx64.efi (UEFI); UEFI HTTP
 * boot gets http://${server}[:port]/ipxe.efi.
 */
int boot_choose_profile(const struct pxed_config *cfg, const struct config_subnet *sn,
			const struct config_node *node, const struct config_profile *profile,
			const struct pxe_client *pc, const struct boot_vars *vars,
			struct boot_choice *out);

/**
 * The second half of boot_choose_profile: when boot_choose left out without a file, derive one
 * from profile (may be NULL: nothing happens). For callers that resolve the profile only when
 * it is needed.
 */
void boot_from_profile(const struct pxed_config *cfg, const struct config_profile *profile,
		       const struct boot_vars *vars, struct boot_choice *out);

/** Expand ${server} ${ip} ${mac} ${name} ${hostname} in tmpl into out. Unknown variables are
 * kept literally. Returns 0 or -ENAMETOOLONG. */
int boot_expand(const char *tmpl, const struct boot_vars *v, char *out, size_t cap);

/** True if a file name looks like an iPXE binary (chainloading it from iPXE would loop). */
bool boot_is_ipxe_binary(const char *file);

#endif
