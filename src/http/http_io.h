/* HTTP adapter: libevent's evhttp on pxed's one event loop. Serves GET and HEAD: first the
 * dynamic handlers registered with http_server_route (rendered documents), then static files
 * beneath http.root (confined like TFTP, sent with sendfile, with Range, validators and
 * conditional requests). One log line per request. See docs/http.md. */
#ifndef PXED_HTTP_IO_H
#define PXED_HTTP_IO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct pxed_config;
struct http_server;
struct http_response;

/* What a dynamic handler sees of a request. Everything is borrowed for the call only. */
struct http_request_info {
	const char *path;  /* raw path of the target, not decoded, without query; starts '/' */
	const char *query; /* raw query string without '?', or NULL */
	const char *host;  /* Host header, or NULL */
	struct sockaddr_in peer;  /* client address */
	struct sockaddr_in local; /* address the client connected to (what it knows pxed as) */
	bool head;		  /* HEAD instead of GET (the adapter drops the body itself) */
	struct pxed_config *cfg;  /* configuration snapshot in force */
};

/**
 * A dynamic handler: fills resp and returns an HTTP status (100..599), or 0 for "not mine" (the
 * next handler, then static files, are tried). Must not block and must not keep req or resp.
 * Only GET and HEAD reach handlers; for HEAD a handler may fill the body as for GET (its length
 * becomes Content-Length, the body is not sent). A status >= 400 with an empty body gets the
 * standard one-line text body. Any other return value is answered with 500.
 */
typedef int (*http_handler_fn)(void *ctx, const struct http_request_info *req,
			       struct http_response *resp);

/**
 * Create the server and bind http.listen (needs privileges below port 1024: call before the
 * privilege drop), open http.root (O_PATH; a root that cannot be opened is an error). Borrows
 * base; takes a reference to cfg. Returns NULL (after logging why) on failure.
 */
struct http_server *http_server_new(struct event_base *base, struct pxed_config *cfg);

/**
 * Route every GET/HEAD whose raw path starts with prefix (byte comparison, e.g. "/boot/") to
 * fn(ctx, ...). Handlers are tried in registration order. Copies prefix; borrows ctx. Returns
 * 0, -EINVAL (prefix not starting with '/', fn NULL) or -ENOSPC (HTTP_MAX_ROUTES reached).
 */
int http_server_route(struct http_server *srv, const char *prefix, http_handler_fn fn, void *ctx);

#define HTTP_MAX_ROUTES 16

/**
 * Use cfg from now on (takes a reference): new requests see it, http.root is opened again (if
 * that fails the previous root stays, logged), http.timeout and http.max-connections apply to
 * new connections. A changed http.listen is logged as needing a restart. Responses in flight
 * keep the file they opened.
 */
void http_server_reload(struct http_server *srv, struct pxed_config *cfg);

/** Told about every finished (or aborted) response, after its log line: for boot timelines.
 * target is the request target as logged (query hidden). */
typedef void (*http_observe_fn)(void *ctx, const struct sockaddr_in *peer, const char *target,
				int status, unsigned long long bytes, double seconds,
				bool complete);
void http_server_set_observer(struct http_server *srv, http_observe_fn fn, void *ctx);

/** Open connections (the ones counted against http.max-connections). */
unsigned http_server_connections(const struct http_server *srv);

/** Connections closed at once because http.max-connections was reached. */
unsigned long long http_server_refused(const struct http_server *srv);

/** Stop: closes every connection (responses in flight are logged as aborted) and frees
 * everything. Accepts NULL. */
void http_server_free(struct http_server *srv);

/**
 * Replace the response body by a copy of p[0..n) with Content-Type type (copied; NULL:
 * text/plain). Returns 0 or -ENOMEM.
 */
int http_response_set_body(struct http_response *resp, const void *p, size_t n, const char *type);

/** Append a copy of p[0..n) to the body. Returns 0 or -ENOMEM. */
int http_response_append(struct http_response *resp, const void *p, size_t n);

/** The body as an evbuffer, for evbuffer_add_printf and friends (borrowed for the call). */
struct evbuffer *http_response_body(struct http_response *resp);

/**
 * Add a response header (both strings copied). Returns 0, or -EINVAL for a name that is not an
 * RFC 9110 token or a value with CR, LF or NUL, or one the adapter owns (Content-Length,
 * Transfer-Encoding, Connection).
 */
int http_response_header(struct http_response *resp, const char *name, const char *value);

/* ---- file bodies, validators, deferred answers (used by the diskless image routes) ---- */

/** The event loop the server runs on (borrowed). */
struct event_base *http_server_base(const struct http_server *srv);

/**
 * Make the body the whole regular file fd (takes fd; closed after the response or when the
 * handler does not return 200). With etag (strong, quoted, copied) the response carries it and
 * Last-Modified last_modified (seconds); without, they are derived from the file like for
 * static files. A 200 from the handler then honours If-None-Match, If-Modified-Since, If-Match,
 * If-Unmodified-Since, Range and If-Range exactly like a static file (304, 206, 412, 416).
 * type NULL: application/octet-stream. Returns 0 or -EINVAL (bad etag).
 */
int http_response_set_file(struct http_response *resp, int fd, const char *etag,
			   int64_t last_modified, const char *type);

/** The same validators and conditional/Range handling for an in-memory body. 0 or -EINVAL. */
int http_response_set_validators(struct http_response *resp, const char *etag,
				 int64_t last_modified);

/* A handler that cannot answer now (work on another thread) calls http_response_defer and
 * returns HTTP_DEFERRED; later, on the loop thread, http_deferred_resume answers. */
#define HTTP_DEFERRED 1
struct http_deferred;

/** Keep the request for a later answer: copies the request info (takes a config reference).
 * Returns NULL when out of memory (the handler should answer 503). */
struct http_deferred *http_response_defer(struct http_response *resp);
/** False once the client's connection closed (resume then only frees). */
bool http_deferred_alive(const struct http_deferred *d);
/** The request info, valid until resumed. */
const struct http_request_info *http_deferred_info(const struct http_deferred *d);
/** Answer now: fn is called like a handler (0 is answered 404, HTTP_DEFERRED 500) and its
 * answer sent, if the connection is still open. Frees d. Loop thread only. */
void http_deferred_resume(struct http_deferred *d, http_handler_fn fn, void *ctx);
/** Answer 503 (if still connected) and free. Accepts NULL. */
void http_deferred_free(struct http_deferred *d);

#endif
