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

struct pxed_config {
	int refs;
	char *source; /* the file name, or NULL when only -o options were given */
	struct config_server server;
	struct config_tftp tftp;
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

/** Write one line per known key with its current value ("tftp.root = /srv/tftp"). */
void config_dump(const struct pxed_config *c, char *out, size_t cap);

#endif
