/* Configuration: an INI file plus `-o section.key=value` overrides, loaded into an immutable,
 * reference-counted snapshot. A reload builds a new snapshot and swaps it in only when it has
 * no errors; holders of the old one (transfers in flight) keep it until they release it. */
#ifndef PXED_CORE_CONFIG_H
#define PXED_CORE_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/netaddr.h"

struct config_server {
	char *user;	 /* drop to this user after binding; NULL: stay */
	char *state_dir; /* runtime state (leases, events) */
	enum log_level log_level;
	bool log_syslog;
};

struct config_tftp {
	bool enabled;
	char *root;		     /* absolute, no trailing '/' */
	struct sockaddr_in listen;   /* default 0.0.0.0:69 */
	uint16_t port_lo, port_hi;   /* 0,0: kernel-chosen ephemeral ports */
	bool single_port;	     /* all transfers on the listen socket */
	unsigned max_transfers;	     /* global concurrency limit */
	unsigned max_per_client;     /* per client IP */
	struct netlist allow;	     /* empty: everyone */
	bool write;		     /* accept WRQ */
	bool write_create;	     /* WRQ may create new files (else only overwrite) */
	uint16_t blksize_max;	     /* 0: path MTU - 32 */
	uint16_t windowsize_max;     /* 1..64 */
	unsigned retransmit_ms;	     /* initial retransmission timeout */
	unsigned retransmit_min_ms;  /* floor of the adaptive timeout */
	unsigned retransmit_max_ms;  /* ceiling of the backoff */
	unsigned retries;	     /* retransmissions before giving up */
	uint64_t netascii_max_bytes; /* largest file converted for netascii */
};

/* An IPv4 address range, host byte order, lo <= hi. */
struct config_range {
	uint32_t lo, hi;
};

#define CONFIG_MAX_ADDRS   8
#define CONFIG_MAX_RANGES  16
#define CONFIG_MAX_OPTIONS 32
#define CONFIG_MAX_MACS	   8
#define CONFIG_MAX_ROUTES  16

/* A DHCP option given in the configuration as `option = CODE TYPE VALUE`, already encoded. */
struct config_dhcp_option {
	uint8_t code;
	uint16_t len;
	uint8_t data[255];
};

struct config_option_list {
	size_t n;
	struct config_dhcp_option opt[CONFIG_MAX_OPTIONS];
};

struct config_addr_list {
	size_t n;
	struct in_addr a[CONFIG_MAX_ADDRS];
};

/* RFC 3442 classless static route. */
struct config_route {
	struct net4 dest;
	struct in_addr gw;
};

enum dhcp_mode { DHCP_MODE_OFF, DHCP_MODE_SERVER, DHCP_MODE_PROXY };
enum unknown_clients { UNKNOWN_ALLOW, UNKNOWN_DENY };

/* Boot files per architecture and loader stage (see docs/dhcp.md "Boot decision"). */
struct config_boot {
	char *bios;	  /* PXE ROM on BIOS: pxelinux.0 or undionly.kpxe */
	char *uefi_x64;	  /* UEFI x64 PXE: ipxe.efi, snponly.efi, shim/grub */
	char *uefi_ia32;  /* UEFI IA32 PXE */
	char *uefi_arm64; /* UEFI ARM64 PXE */
	char *http_x64;	  /* UEFI HTTP boot (HTTPClient), x64: a URL */
	char *http_arm64; /* UEFI HTTP boot, ARM64: a URL */
	char *ipxe;	  /* iPXE second stage: usually an HTTP script URL */
};

/* [dhcp]: global DHCP settings. */
struct config_dhcp {
	enum dhcp_mode mode;
	char *interfaces;	    /* comma/space separated interface names */
	struct sockaddr_in listen;  /* port 67 normally; tests use others */
	uint16_t client_port;	    /* 68 normally */
	uint16_t proxy_port;	    /* 4011 */
	struct in_addr server_id;   /* 0: the address of the receiving interface */
	struct in_addr next_server; /* 0: server_id */
	unsigned lease_time;	    /* seconds */
	unsigned decline_time;	    /* quarantine after DECLINE */
	bool authoritative;	    /* NAK requests for addresses we cannot give */
	bool ping_check;	    /* ICMP echo before offering a dynamic address */
	unsigned ping_timeout_ms;
	unsigned offer_hold_s;	    /* how long an OFFERed address stays reserved */
	unsigned commit_batch;	    /* most leases per durable commit */
	unsigned batch_interval_ms; /* under load, read the sockets every N ms (0: per datagram) */
	struct config_boot boot;
};

/* [subnet NAME] */
struct config_subnet {
	char *name;
	int line;
	struct net4 net;
	char *interface; /* receiving interface; NULL: matched by address or giaddr */
	size_t nranges;
	struct config_range ranges[CONFIG_MAX_RANGES];
	struct config_addr_list routers, dns, ntp;
	char *domain;
	uint16_t mtu;
	unsigned lease_time; /* 0: dhcp.lease-time */
	enum unknown_clients unknown;
	size_t nroutes;
	struct config_route routes[CONFIG_MAX_ROUTES];
	struct config_option_list options;
	struct config_boot boot; /* overrides of [dhcp] boot files */
};

#define CONFIG_MAX_VARS	 32
#define CONFIG_MAX_MATCH 16

/* `var.NAME = value` lines of a node, group or profile: ${NAME} in templates. */
struct config_vars {
	size_t n;
	char *key[CONFIG_MAX_VARS];
	char *val[CONFIG_MAX_VARS];
};

enum boot_loader { LOADER_IPXE, LOADER_PXELINUX, LOADER_GRUB };
enum diskless_mode { DISKLESS_NONE, DISKLESS_NFS, DISKLESS_RAM };

/* [profile NAME]: what a node boots. */
struct config_profile {
	char *name;
	int line;
	char *kernel;		 /* path under http.root / tftp.root, or a URL */
	char *initrd;		 /* comma-separated, same */
	char *cmdline;		 /* kernel command line template */
	enum boot_loader loader; /* chain for BIOS / UEFI PXE: ipxe (default), pxelinux, grub */
	char *kickstart;	 /* template file (kickstart, preseed, autoinstall user-data) */
	bool install; /* an installer: boots only while the node's reinstall flag is set */
	enum diskless_mode diskless;
	char *template; /* diskless: template root (nfs: a directory; ram: a directory or a tar) */
	bool shared_root; /* nfs: one read-only root for all nodes + a small per-node tree */
	char *per_node;	  /* nfs: comma-separated paths (globs) sync keeps from the node's tree */
	char *nfs_options; /* nfs: mount options after nfsroot=SERVER:PATH, (NULL: diskless.nfs-options) */
	char *mounts;  /* nfs: "DIR:MOUNTPOINT[:ro|rw], ..." extra NFS mounts in the fstab */
	char *overlay; /* ram: directory of per-node overlay templates */
	bool squashfs; /* ram: also build a squashfs of the image */
	char *description;
	struct config_vars vars;
};

/* [group NAME]: nodes selected by MAC globs and/or architecture share a profile and vars. */
struct config_group {
	char *name;
	int line;
	char *match_mac;  /* comma-separated globs: 52:54:00:* */
	char *match_arch; /* comma-separated architecture names: bios, uefi-x64 */
	char *profile;
	struct config_vars vars;
};

/* [node NAME]: a machine pxed knows (reservation and, later, profile). */
struct config_node {
	char *name;
	int line;
	size_t nmacs;
	uint8_t macs[CONFIG_MAX_MACS][6];
	struct in_addr ip; /* 0: dynamic */
	char *hostname;	   /* option 12; NULL: the node name */
	char *arch;	   /* architecture override (pxe_arch name) */
	char *boot_file;   /* boot file override for every stage but iPXE */
	char *ipxe_file;   /* boot file override for the iPXE stage */
	char *root_path;   /* option 17 */
	struct config_option_list options;
	char *profile; /* [profile NAME] it boots; NULL: from a group or boot.default-profile */
	struct config_vars vars;
};

/* [http] */
struct config_http {
	bool enabled;
	struct sockaddr_in listen; /* default 0.0.0.0:80 */
	char *root;		   /* static files (kernels, initrds, install trees) */
	unsigned max_connections;
	unsigned timeout_s;
};

enum exports_format { EXPORTS_KERNEL, EXPORTS_GANESHA };

/* [diskless]: where node trees and images live and how they are exported. */
struct config_diskless {
	char *root;	   /* per-node trees <root>/<node>, shared roots <root>/shared/<profile> */
	char *images;	   /* built RAM-root archives (NULL: <state-dir>/images) */
	char *nfs_server;  /* address nodes mount from (NULL: boot.server, else per request) */
	char *nfs_options; /* default mount options, e.g. "vers=3,tcp" */
	enum exports_format exports_format;
	char *exports_file;   /* NULL: /etc/exports.d/pxed.exports or /etc/ganesha/pxed.conf */
	char *exports_reload; /* shell command run after writing the exports; NULL: per format */
	struct net4
		export_net; /* shared trees are exported read-only to this network (0: subnets) */
};

/* [boot]: inventory-wide settings. */
struct config_boot_global {
	char *default_profile; /* profile of nodes with none and of unknown clients; NULL: refuse */
	char *templates;       /* directory of kickstart/preseed templates (relative paths) */
	char *server;	       /* address nodes reach pxed at (${server}); default: per request */
};

struct pxed_config {
	int refs;
	char *source; /* the file name, or NULL when only -o options were given */
	struct config_server server;
	struct config_tftp tftp;
	struct config_dhcp dhcp;
	struct config_http http;
	struct config_boot_global boot;
	struct config_diskless diskless;
	size_t nsubnets, nnodes, nprofiles, ngroups;
	struct config_subnet *subnets;
	struct config_node *nodes;
	struct config_profile *profiles;
	struct config_group *groups;
	int tftp_root_fd; /* O_PATH directory fd of tftp.root, -1 if not opened */
};

/* Errors collected during a load, each already formatted as "file:line: message". */
struct config_errors {
	size_t n;
	char *msg[64];
	size_t dropped; /* errors beyond the 64 kept */
};

/**
 * Load a configuration: the file at path (may be NULL), then each "section.key=value" string
 * of overrides in order (later wins). With open_root, also opens tftp.root (errors if it is
 * missing). Returns a new snapshot with refs == 1, or NULL with errs filled. Never partially
 * applies anything.
 */
struct pxed_config *config_load(const char *path, const char *const *overrides, size_t n,
				bool open_root, struct config_errors *errs);

/** Take another reference. */
struct pxed_config *config_ref(struct pxed_config *c);
/** Drop a reference; frees on the last. Accepts NULL. */
void config_unref(struct pxed_config *c);

/** Free the strings of errs. */
void config_errors_clear(struct config_errors *errs);

/** Node with this MAC, or NULL. */
const struct config_node *config_node_by_mac(const struct pxed_config *c, const uint8_t mac[6]);
/** Node by name, or NULL. */
const struct config_node *config_node_by_name(const struct pxed_config *c, const char *name);
/** Profile by name, or NULL. */
const struct config_profile *config_profile_by_name(const struct pxed_config *c, const char *name);
/** Value of ${key} in vars, or NULL. */
const char *config_var(const struct config_vars *v, const char *key);

/** Subnet containing addr (network byte order), or NULL. */
const struct config_subnet *config_subnet_for(const struct pxed_config *c, struct in_addr addr);

#define CONFIG_MAX_MOUNTS 16
/* One entry of a profile's `mounts`: a server directory NFS-mounted at mountpoint on the node. */
struct config_mount {
	char dir[240];
	char mountpoint[240];
	bool rw;
};
/**
 * Parse "DIR:MOUNTPOINT[:ro|rw], ..." (default ro). Fills up to cap entries of out (may be
 * NULL) and returns how many there are, or -1 with *why set.
 */
int config_mounts_parse(const char *s, struct config_mount *out, size_t cap, const char **why);

/** Write one line per known key with its current value ("tftp.root = /srv/tftp"). */
void config_dump(const struct pxed_config *c, char *out, size_t cap);

#endif
