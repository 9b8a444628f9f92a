/* TFTP adapter: sockets, timers and files for the pure codec (tftp_wire), negotiation
 * (tftp_opts) and transfer state machines (tftp_xfer). One event loop (libevent); every
 * transfer is a state object with its own socket from tftp.port-range, or all of them on the
 * listen socket in single-port mode. */
#ifndef PXED_TFTP_IO_H
#define PXED_TFTP_IO_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct pxed_config;
struct tftp_server;

/* Why a datagram was dropped without an answer (counted, logged at debug). */
enum tftp_drop {
	TFTP_DROP_MALFORMED,	 /* did not parse */
	TFTP_DROP_NOT_ALLOWED,	 /* source outside tftp.allow */
	TFTP_DROP_OVERLOAD,	 /* tftp.max-transfers reached: silence, the client retries */
	TFTP_DROP_DUP_REQUEST,	 /* repeated RRQ/WRQ of a transfer that already runs */
	TFTP_DROP_NO_TRANSFER,	 /* ACK/DATA/ERROR for no known transfer */
	TFTP_DROP_UNEXPECTED_OP, /* wrong opcode for the transfer's direction */
	TFTP_DROP_BAD_SOURCE,	 /* source port 0 or a broadcast/multicast source */
	TFTP_DROP_MAX
};

/**
 * Create the server and bind its listen socket (needs privileges for port 69). Borrows base;
 * takes a reference to cfg. Returns NULL (after logging why) on failure.
 */
struct tftp_server *tftp_server_new(struct event_base *base, struct pxed_config *cfg);

/** Use cfg for new transfers from now on (takes a reference); transfers in flight keep the
 * configuration they started with. Settings that need a new socket (tftp.listen) are logged
 * as needing a restart and otherwise ignored. */
void tftp_server_reload(struct tftp_server *srv, struct pxed_config *cfg);

struct sbuf;
struct sockaddr_in;

/**
 * Renders documents that are not files (pxelinux.cfg/..., grub.cfg-...): called for a read
 * request whose file does not exist beneath tftp.root (real files always win). rel is the
 * confined name, peer the client, local our address. Returns 0 with the document in out,
 * -ENOENT to let the client fall through to its next name, or another -errno.
 */
typedef int (*tftp_render_fn)(void *ctx, const char *rel, const struct sockaddr_in *peer,
			      const struct sockaddr_in *local, struct sbuf *out);
/** Told about every finished transfer (for boot timelines). */
typedef void (*tftp_observe_fn)(void *ctx, const struct sockaddr_in *peer, const char *rel,
				uint64_t bytes, double seconds, bool ok, bool rendered);

void tftp_server_set_renderer(struct tftp_server *srv, tftp_render_fn fn, void *ctx);
void tftp_server_set_observer(struct tftp_server *srv, tftp_observe_fn fn, void *ctx);

/** Number of transfers in flight. */
unsigned tftp_server_active(const struct tftp_server *srv);
/** Drop counter for one reason. */
uint64_t tftp_server_drops(const struct tftp_server *srv, enum tftp_drop why);
const char *tftp_drop_str(enum tftp_drop why);

/** Stop: aborts transfers in flight (logged) and frees everything. Accepts NULL. */
void tftp_server_free(struct tftp_server *srv);

#endif
