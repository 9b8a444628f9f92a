/* The control socket: a Unix stream socket in server.state-dir (pxed.sock, mode 0660) that
 * `pxed status`, `pxed nodes` and `pxed node NAME reinstall` talk to. One request line in,
 * a text answer out, then the daemon closes the connection. */
#ifndef PXED_CORE_CONTROL_H
#define PXED_CORE_CONTROL_H

#include <stddef.h>

struct event_base;
struct sbuf;
struct control;

/* Handles one request line; appends the answer to out. Returns 0 (answer starts "ok") or
 * a negative errno (the answer is an error message). */
typedef int (*control_fn)(void *ctx, const char *line, struct sbuf *out);

/** Listen on dir/pxed.sock (replacing a stale socket). Returns NULL after logging why. */
struct control *control_new(struct event_base *base, const char *dir, control_fn fn, void *ctx);
void control_free(struct control *c);

/** Client side: send line to dir/pxed.sock and copy the answer to out (cap bytes). Returns 0
 * or -errno (-ENOENT/-ECONNREFUSED: the daemon is not running). */
int control_request(const char *dir, const char *line, char *out, size_t cap);

#endif
