/* HTTP adapter; see http_io.h and docs/http.md. Owns the listen socket, the connection count,
 * files and log lines. The decisions are delegated: path confinement to core/path, range and
 * conditional requests to http_range, content types to http_mime; HTTP/1.1 framing,
 * keep-alive and timeouts to libevent's evhttp. */
#include "http/http_io.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/escape.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/path.h"
#include "http/http_mime.h"
#include "http/http_range.h"

#define CONN_BUCKETS	 1024
#define LISTEN_BACKLOG	 1024
#define MAX_SINGLE_WRITE (4 << 20) /* in-memory bytes per write readiness (default 16 KiB) */
#define MAX_HEADERS_SIZE 16384
#define MAX_BODY_SIZE	 65536 /* request bodies (only ever answered with 405) */
#define LOG_PATH_MAX	 256   /* escaped path in the log line */
#define SMALL_BODY	 16384 /* file bodies up to this size are read, larger ones sendfile'd */

struct http_exchange;

/* A route of http_server_route. */
struct http_route {
	char *prefix;
	size_t len;
	http_handler_fn fn;
	void *ctx;
};

/* One accepted connection, from its adoption until evhttp's close callback. */
struct http_conn {
	struct http_server *srv;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct http_conn *prev, *next, *hnext;
	struct http_exchange *cur; /* the request being answered, or NULL */
	struct sockaddr_in peer, local;
	char peer_str[32];
};

/* One request and its response: from the request callback until the response is written
 * (on_complete) or its connection closes first (aborted). */
struct http_exchange {
	struct http_conn *conn;
	uint64_t start_ns;
	int status;
	uint64_t body_len;		/* body bytes queued (0 for HEAD and bodiless statuses) */
	char why[64];			/* reason appended to the log line, or "" */
	struct http_deferred *deferred; /* the handler answers later (http_response_defer) */
	char target[LOG_PATH_MAX + 24]; /* "METHOD path", escaped */
};

struct http_response {
	struct evhttp_request *req;
	struct evbuffer *body;
	char type[128];
	int fd;		 /* http_response_set_file: the body is this file, or -1 */
	bool validators; /* etag and last_modified set: conditional and Range requests */
	char etag[HTTP_ETAG_MAX + 16];
	int64_t last_modified; /* seconds */
	struct http_server *srv;
	struct http_exchange *x;
	const struct http_request_info *info;
	struct http_deferred *deferred; /* set by http_response_defer */
};

/* A request whose handler answers later, from the loop thread (http_deferred_resume). */
struct http_deferred {
	struct http_server *srv;
	struct evhttp_request *req; /* NULL once the connection closed */
	struct http_exchange *x;    /* NULL once the connection closed */
	char *buf;		    /* path, query and host copied */
	struct http_request_info info;
};

struct http_server {
	struct event_base *base;
	struct pxed_config *cfg;
	struct evhttp *http;
	struct sockaddr_in laddr;
	int rootfd; /* O_PATH directory fd of http.root, -1 for none */
	struct event *adopt_ev;
	struct bufferevent **pending; /* created for evhttp, not yet adopted; each holds a ref */
	size_t npending, pending_cap;
	struct http_conn *conns;
	struct http_conn *hash[CONN_BUCKETS];
	unsigned nconns;
	unsigned long long refused;
	bool stopping;
	http_observe_fn observe;
	void *observe_ctx;
	size_t nroutes;
	struct http_route routes[HTTP_MAX_ROUTES];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void http_server_set_observer(struct http_server *srv, http_observe_fn fn, void *ctx)
{
	srv->observe = fn;
	srv->observe_ctx = ctx;
}

unsigned http_server_connections(const struct http_server *srv)
{
	return srv->nconns;
}

unsigned long long http_server_refused(const struct http_server *srv)
{
	return srv->refused;
}

/* ---- connection table ------------------------------------------------------------------- */

static unsigned hash_evcon(const struct evhttp_connection *evcon)
{
	uintptr_t x = (uintptr_t)evcon >> 4;
	return (unsigned)((x * 2654435761u) >> 8) % CONN_BUCKETS;
}

static struct http_conn *conn_find(struct http_server *srv, const struct evhttp_connection *evcon)
{
	for (struct http_conn *c = srv->hash[hash_evcon(evcon)]; c; c = c->hnext)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void conn_link(struct http_server *srv, struct http_conn *c)
{
	unsigned h = hash_evcon(c->evcon);
	c->hnext = srv->hash[h];
	srv->hash[h] = c;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
}

/* Unlink and free c (and the exchange it still had, which the caller has logged). */
static void conn_forget(struct http_server *srv, struct http_conn *c)
{
	for (struct http_conn **pp = &srv->hash[hash_evcon(c->evcon)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c->cur);
	free(c);
}

/* ---- log lines -------------------------------------------------------------------------- */

static void exchange_log(const struct http_exchange *x, const char *peer, uint64_t sent,
			 const char *aborted)
{
	double secs = (double)(now_ns() - x->start_ns) / 1e9;
	char of[48] = "";
	if (aborted)
		snprintf(of, sizeof(of), " of %llu", (unsigned long long)x->body_len);
	log_info("http %s \"%s\" %d %llu%s bytes %.3f s%s%s%s%s", peer, x->target, x->status,
		 (unsigned long long)sent, of, secs, x->why[0] ? " (" : "", x->why,
		 x->why[0] ? ")" : "", aborted ? aborted : "");
	struct http_server *srv = x->conn->srv;
	if (srv->observe)
		srv->observe(srv->observe_ctx, &x->conn->peer, x->target, x->status, sent, secs,
			     aborted == NULL);
}

/* evhttp wrote the whole response: log it, forget the exchange. */
static void on_complete(struct evhttp_request *req, void *arg)
{
	struct http_exchange *x = arg;
	exchange_log(x, x->conn->peer_str, x->body_len, NULL);
	x->conn->cur = NULL;
	free(x);
}

/* ---- connections: count, limit, close ---------------------------------------------------- */

/* evhttp closes a connection (client gone, timeout, error, Connection: close, shutdown). */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg;
	struct http_server *srv = c->srv;
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (c->cur && c->cur->deferred) { /* its handler still works on it: detach */
		c->cur->deferred->req = NULL;
		c->cur->deferred->x = NULL;
	}
	if (c->cur) {
		size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
		uint64_t sent = left < c->cur->body_len ? c->cur->body_len - left : 0;
		exchange_log(c->cur, c->peer_str, sent,
			     srv->stopping ? ": aborted: server shutting down"
					   : ": aborted: connection closed before the end");
	}
	conn_forget(srv, c);
}

/* Start counting a connection evhttp has just set up, or close it at the limit. */
static void conn_adopt(struct http_server *srv, struct evhttp_connection *evcon,
		       struct bufferevent *bev)
{
	struct http_conn *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(struct sockaddr_in);
	const struct sockaddr *sa = evhttp_connection_get_addr(evcon);
	int fd = bufferevent_getfd(bev), one = 1;
	if (!c || !sa || sa->sa_family != AF_INET) {
		free(c);
		evhttp_connection_free(evcon);
		return;
	}
	memcpy(&c->peer, sa, sizeof(c->peer));
	netaddr_str(&c->peer, c->peer_str, sizeof(c->peer_str));
	if (srv->nconns >= srv->cfg->http.max_connections) {
		srv->refused++;
		log_info("http %s: refused: http.max-connections (%u) reached", c->peer_str,
			 srv->cfg->http.max_connections);
		free(c);
		evhttp_connection_free(evcon);
		return;
	}
	getsockname(fd, (struct sockaddr *)&c->local, &len);
	/* Headers and a sendfile body go out in two writes: never hold the second one back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->srv = srv;
	c->evcon = evcon;
	c->bev = bev;
	conn_link(srv, c);
	evhttp_connection_set_closecb(evcon, on_conn_close, c);
}

/*
 * Adopt the connections evhttp set up since the last run. libevent 2.1 has no hook for a new
 * server connection; but the bufferevent we created for it (on_new_bev) has the connection as
 * its callback argument once evhttp has set it up (checked: the connection must point back at
 * the bufferevent). This runs as an event activated in on_new_bev, so before any I/O on the
 * connection can close it; the reference taken there keeps the bufferevent valid regardless.
 */
static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	for (size_t i = 0; i < srv->npending; i++) {
		struct bufferevent *bev = srv->pending[i];
		void *cbarg = NULL;
		bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
		struct evhttp_connection *evcon = cbarg;
		if (evcon && evhttp_connection_get_bufferevent(evcon) == bev)
			conn_adopt(srv, evcon, bev);
		bufferevent_decref(bev);
	}
	srv->npending = 0;
}

/* evhttp's bufferevent factory, called once per accepted connection. */
static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
	struct http_server *srv = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	bufferevent_set_max_single_write(bev, MAX_SINGLE_WRITE);
	if (srv->npending == srv->pending_cap) {
		size_t cap = srv->pending_cap ? 2 * srv->pending_cap : 64;
		struct bufferevent **p = realloc(srv->pending, cap * sizeof(*p));
		if (!p) {
			log_err("http: out of memory: connection not counted");
			return bev;
		}
		srv->pending = p;
		srv->pending_cap = cap;
	}
	bufferevent_incref(bev);
	srv->pending[srv->npending++] = bev;
	event_active(srv->adopt_ev, EV_TIMEOUT, 0);
	return bev;
}

/* ---- responses ---------------------------------------------------------------------------- */

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 412: return "Precondition Failed";
	case 416: return "Range Not Satisfiable";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "";
	}
}

static void set_header(struct evhttp_request *req, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

/* Drop the headers a handler or a failed attempt left; keep the Server header. */
static void reset_headers(struct evhttp_request *req)
{
	evhttp_clear_headers(evhttp_request_get_output_headers(req));
	set_header(req, "Server", "pxed/" PXED_VERSION);
}

static void set_length(struct evhttp_request *req, uint64_t n)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
	set_header(req, "Content-Length", buf);
}

/* Send status with the in-memory body (not sent for HEAD; none at all for 1xx, 204, 304). */
static void send_memory(struct http_exchange *x, struct evhttp_request *req, int status,
			struct evbuffer *body, const char *type)
{
	bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	bool bodiless = status < 200 || status == 204 || status == 304;
	size_t n = evbuffer_get_length(body);
	if (!bodiless) {
		set_length(req, n);
		if (n)
			set_header(req, "Content-Type", type ? type : "text/plain");
	}
	x->status = status;
	x->body_len = head || bodiless ? 0 : n;
	evhttp_send_reply(req, status, NULL, head || bodiless ? NULL : body);
}

/* Send an error status with a one-line text body. */
static void send_error(struct http_exchange *x, struct evhttp_request *req, int status)
{
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		x->status = 503;
		evhttp_send_error(req, 503, NULL); /* closes the connection */
		return;
	}
	evbuffer_add_printf(body, "%d %s\n", status, status_text(status));
	send_memory(x, req, status, body, "text/plain");
	evbuffer_free(body);
}

/* Read bytes [first, first + length) of fd into body (small files: one write with the headers,
 * no second write for a sendfile). */
static int read_body(struct evbuffer *body, int fd, uint64_t first, uint64_t length)
{
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(body, (ev_ssize_t)length, &v, 1) < 1)
		return -ENOMEM;
	ssize_t n = pread(fd, v.iov_base, (size_t)length, (off_t)first);
	if (n != (ssize_t)length)
		return n < 0 ? -errno : -EIO; /* the file shrank under us */
	v.iov_len = (size_t)length;
	return evbuffer_commit_space(body, &v, 1) == 0 ? 0 : -ENOMEM;
}

/* Queue bytes [first, first + length) of fd for sendfile. Takes fd, also on failure. */
static int add_file_segment(struct evbuffer *body, int fd, uint64_t first, uint64_t length)
{
	struct evbuffer_file_segment *seg = NULL;
	/* Without this flag libevent maps or reads the segment instead of using sendfile. */
	if (evbuffer_set_flags(body, EVBUFFER_FLAG_DRAINS_TO_FD) == 0)
		seg = evbuffer_file_segment_new(fd, (ev_off_t)first, (ev_off_t)length,
						EVBUF_FS_CLOSE_ON_FREE);
	if (!seg) {
		close(fd);
		return -ENOMEM;
	}
	int r = evbuffer_add_file_segment(body, seg, 0, (ev_off_t)length);
	evbuffer_file_segment_free(seg); /* the buffer holds its own reference */
	return r == 0 ? 0 : -ENOMEM;
}

/* Send status with bytes [first, first + length) of fd as the body: read for small bodies,
 * sendfile for the others. Takes fd. */
static void send_file(struct http_exchange *x, struct evhttp_request *req, int status, int fd,
		      uint64_t first, uint64_t length)
{
	bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	struct evbuffer *body = NULL;
	int r = 0;
	if (!head && length > 0) {
		body = evbuffer_new();
		if (!body) {
			r = -ENOMEM;
		} else if (length <= SMALL_BODY) {
			r = read_body(body, fd, first, length);
		} else {
			r = add_file_segment(body, fd, first, length);
			fd = -1; /* taken, also on failure */
		}
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		if (body)
			evbuffer_free(body);
		reset_headers(req);
		snprintf(x->why, sizeof(x->why), "cannot read the file: %s", strerror(-r));
		send_error(x, req, 500);
		return;
	}
	set_length(req, length);
	x->status = status;
	x->body_len = head ? 0 : length;
	evhttp_send_reply(req, status, NULL, body);
	if (body)
		evbuffer_free(body);
}

/* ---- static files --------------------------------------------------------------------------- */

/* Status for a target path that path_confine refused. */
static int confine_status(int err)
{
	switch (err) {
	case -EINVAL: return 400; /* malformed %-escape */
	case -EACCES: return 403; /* "..", control byte, encoded NUL or '/' */
	default: return 404;	  /* the root itself (no listings), too long */
	}
}

/* Status for a confined path that did not open as a regular file. */
static int open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -EISDIR:
	case -ENAMETOOLONG: return 404;
	case -EACCES:
	case -EPERM:
	case -EXDEV:
	case -ELOOP: return 403;
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM: return 503;
	default: return 500;
	}
}

/* The request headers of the conditional/range decision. */
static void cond_request(struct evkeyvalq *in, bool get, struct http_cond_request *rq)
{
	*rq = (struct http_cond_request){
		.get = get,
		.range = evhttp_find_header(in, "Range"),
		.if_match = evhttp_find_header(in, "If-Match"),
		.if_none_match = evhttp_find_header(in, "If-None-Match"),
		.if_modified_since = evhttp_find_header(in, "If-Modified-Since"),
		.if_unmodified_since = evhttp_find_header(in, "If-Unmodified-Since"),
		.if_range = evhttp_find_header(in, "If-Range"),
	};
}

/* Validators and the conditional/range decision for an open file. */
static void decide(struct evhttp_request *req, const struct stat *st, char etag[HTTP_ETAG_MAX],
		   char lm[HTTP_DATE_LEN + 1], struct http_cond_result *res)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	int64_t mtime = (int64_t)st->st_mtim.tv_sec, now = (int64_t)time(NULL);
	uint64_t mtime_ns = (uint64_t)mtime * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
	struct http_entity e = {(uint64_t)st->st_size, mtime < now ? mtime : now, etag};
	struct http_cond_request rq;
	cond_request(in, evhttp_request_get_command(req) == EVHTTP_REQ_GET, &rq);
	http_etag_format((uint64_t)st->st_ino, (uint64_t)st->st_size, mtime_ns, etag);
	if (http_date_format(e.last_modified, lm) < 0)
		lm[0] = '\0';
	http_cond_decide(&rq, &e, res);
}

/* Validators, type and Content-Range of a file response (RFC 9110 §8.8, §14.4). */
static void set_file_headers(struct evhttp_request *req, const struct http_cond_result *res,
			     uint64_t size, const char *etag, const char *lm, const char *type)
{
	char cr[80];
	set_header(req, "Accept-Ranges", "bytes");
	set_header(req, "ETag", etag);
	if (lm[0])
		set_header(req, "Last-Modified", lm);
	if (res->status == 200 || res->status == 206)
		set_header(req, "Content-Type", type);
	if (res->status == 206) {
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)res->first,
			 (unsigned long long)(res->first + res->length - 1),
			 (unsigned long long)size);
		set_header(req, "Content-Range", cr);
	} else if (res->status == 416) {
		snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
		set_header(req, "Content-Range", cr);
	}
}

/* Answer a GET/HEAD of path (raw, not decoded) from http.root. */
static void serve_static(struct http_server *srv, struct http_exchange *x,
			 struct evhttp_request *req, const char *path)
{
	char rel[PATH_MAX], etag[HTTP_ETAG_MAX], lm[HTTP_DATE_LEN + 1];
	size_t plen = strlen(path);
	struct http_cond_result res;
	struct stat st;
	int r = srv->rootfd < 0 ? -ENOENT
				: path_confine(path, plen, PATH_URL_DECODE, NULL, rel, sizeof(rel));
	if (r < 0) {
		snprintf(x->why, sizeof(x->why), "path refused: %s", strerror(-r));
		send_error(x, req, confine_status(r));
		return;
	}
	int fd = path_open_regular_beneath(srv->rootfd, rel, 0, &st);
	if (fd >= 0 && path[plen - 1] == '/') { /* "file/" names a directory */
		close(fd);
		fd = -ENOTDIR;
	}
	if (fd < 0) {
		snprintf(x->why, sizeof(x->why), "%s", strerror(-fd));
		send_error(x, req, open_status(fd));
		return;
	}
	decide(req, &st, etag, lm, &res);
	set_file_headers(req, &res, (uint64_t)st.st_size, etag, lm, http_mime_type(rel, (size_t)r));
	if (res.status == 200 || res.status == 206) {
		send_file(x, req, res.status, fd, res.first, res.length);
		return;
	}
	close(fd);
	if (res.status == 304) {
		x->status = 304;
		evhttp_send_reply(req, 304, NULL, NULL);
		return;
	}
	send_error(x, req, res.status); /* 412, 416 */
}

/* ---- dynamic handlers ------------------------------------------------------------------------ */

/* A handler's 200 with validators (and maybe a file): conditional requests and Range exactly
 * as for static files. */
static void send_validated(struct http_exchange *x, struct evhttp_request *req,
			   struct http_response *resp)
{
	struct http_cond_request rq;
	struct http_cond_result res;
	struct stat st;
	char lm[HTTP_DATE_LEN + 1];
	const char *type = resp->type[0] ? resp->type : "application/octet-stream";
	int64_t now = (int64_t)time(NULL);
	uint64_t size = evbuffer_get_length(resp->body);
	if (resp->fd >= 0) {
		if (fstat(resp->fd, &st) < 0) {
			snprintf(x->why, sizeof(x->why), "cannot read the file: %s",
				 strerror(errno));
			send_error(x, req, 500);
			return;
		}
		size = (uint64_t)st.st_size;
	}
	struct http_entity e = {size, resp->last_modified < now ? resp->last_modified : now,
				resp->etag};
	cond_request(evhttp_request_get_input_headers(req),
		     evhttp_request_get_command(req) == EVHTTP_REQ_GET, &rq);
	if (http_date_format(e.last_modified, lm) < 0)
		lm[0] = '\0';
	http_cond_decide(&rq, &e, &res);
	set_file_headers(req, &res, size, resp->etag, lm, type);
	if ((res.status == 200 || res.status == 206) && resp->fd >= 0) {
		send_file(x, req, res.status, resp->fd, res.first, res.length);
		resp->fd = -1;
		return;
	}
	if (res.status == 200 || res.status == 206) {
		struct evbuffer *part = evbuffer_new();
		if (!part) {
			send_error(x, req, 503);
			return;
		}
		evbuffer_drain(resp->body, (size_t)res.first);
		evbuffer_remove_buffer(resp->body, part, (size_t)res.length);
		send_memory(x, req, res.status, part, type);
		evbuffer_free(part);
		return;
	}
	if (res.status == 304) {
		x->status = 304;
		evhttp_send_reply(req, 304, NULL, NULL);
		return;
	}
	send_error(x, req, res.status); /* 412, 416 */
}

/* Send what a handler returned. */
static void send_handler_response(struct http_exchange *x, struct evhttp_request *req, int status,
				  struct http_response *resp, const char *prefix)
{
	if (status == 200 && (resp->validators || resp->fd >= 0)) {
		if (!resp->validators) {
			struct stat st;
			fstat(resp->fd, &st);
			http_etag_format((uint64_t)st.st_ino, (uint64_t)st.st_size,
					 (uint64_t)st.st_mtim.tv_sec * 1000000000u +
						 (uint64_t)st.st_mtim.tv_nsec,
					 resp->etag);
			resp->last_modified = st.st_mtim.tv_sec;
		}
		send_validated(x, req, resp);
		return;
	}
	if (status < 100 || status > 599) {
		log_err("http: handler for \"%s\" returned %d", prefix, status);
		reset_headers(req);
		snprintf(x->why, sizeof(x->why), "handler failed");
		send_error(x, req, 500);
		return;
	}
	if (status >= 400 && evbuffer_get_length(resp->body) == 0) {
		send_error(x, req, status);
		return;
	}
	send_memory(x, req, status, resp->body, resp->type[0] ? resp->type : NULL);
}

/* Offer the request to the routes in order; false when none took it. */
static bool run_handlers(struct http_server *srv, struct http_exchange *x,
			 struct evhttp_request *req, const struct http_request_info *info)
{
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *rt = &srv->routes[i];
		if (strncmp(info->path, rt->prefix, rt->len) != 0)
			continue;
		struct http_response resp = {.req = req,
					     .body = evbuffer_new(),
					     .fd = -1,
					     .srv = srv,
					     .x = x,
					     .info = info};
		if (!resp.body) {
			send_error(x, req, 503);
			return true;
		}
		int status = rt->fn(rt->ctx, info, &resp);
		if (status == HTTP_DEFERRED && resp.deferred) {
			x->deferred = resp.deferred;
			evbuffer_free(resp.body);
			return true;
		}
		if (resp.deferred) { /* deferred but answered anyway: forget it */
			http_deferred_free(resp.deferred);
			resp.deferred = NULL;
		}
		if (status == HTTP_DEFERRED)
			status = -1;
		if (status != 0)
			send_handler_response(x, req, status, &resp, rt->prefix);
		else
			reset_headers(req);
		if (resp.fd >= 0)
			close(resp.fd);
		evbuffer_free(resp.body);
		if (status != 0)
			return true;
	}
	return false;
}

/* ---- requests --------------------------------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/*
 * Path and query of the request target (RFC 9112 §3.2), copied into one new allocation *buf:
 * origin-form "/path?query" is split here (a leading "//" stays part of the path); the
 * absolute-form "http://host/path?query" is taken from evhttp's parse. 0 or -EINVAL.
 */
static int split_target(struct evhttp_request *req, char **buf, const char **path,
			const char **query)
{
	const char *uri = evhttp_request_get_uri(req), *p, *q = NULL;
	size_t plen, qlen = 0;
	if (uri && uri[0] == '/') {
		p = uri;
		plen = strcspn(uri, "?#");
		if (uri[plen] == '?') {
			q = uri + plen + 1;
			qlen = strcspn(q, "#");
		}
	} else {
		const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
		p = u && evhttp_uri_get_scheme(u) ? evhttp_uri_get_path(u) : NULL;
		if (!p || (p[0] != '/' && p[0] != '\0'))
			return -EINVAL;
		if (p[0] == '\0')
			p = "/";
		plen = strlen(p);
		q = evhttp_uri_get_query(u);
		qlen = q ? strlen(q) : 0;
	}
	char *b = malloc(plen + qlen + 2);
	if (!b)
		return -ENOMEM;
	memcpy(b, p, plen);
	b[plen] = '\0';
	*path = b;
	*query = NULL;
	if (q) {
		memcpy(b + plen + 1, q, qlen);
		b[plen + 1 + qlen] = '\0';
		*query = b + plen + 1;
	}
	*buf = b;
	return 0;
}

/* A new exchange on c for req, its log target ("METHOD path?..."), tracked by c. */
static struct http_exchange *exchange_new(struct http_conn *c, struct evhttp_request *req)
{
	struct http_exchange *x = calloc(1, sizeof(*x));
	const char *uri = evhttp_request_get_uri(req);
	char esc[LOG_PATH_MAX];
	if (!x)
		return NULL;
	size_t plen = uri ? strcspn(uri, "?") : 0;
	str_escape(esc, sizeof(esc), uri ? uri : "", plen);
	snprintf(x->target, sizeof(x->target), "%s %s%s",
		 method_name(evhttp_request_get_command(req)), esc,
		 uri && uri[plen] == '?' ? "?..." : "");
	x->conn = c;
	x->start_ns = now_ns();
	c->cur = x;
	evhttp_request_set_on_complete_cb(req, on_complete, x);
	return x;
}

/* evhttp's request callback: every complete request of every connection comes here. */
static void on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *srv = arg;
	struct http_conn *c = conn_find(srv, evhttp_request_get_connection(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct http_exchange *x = c ? exchange_new(c, req) : NULL;
	char *buf = NULL;
	if (!x) {
		evhttp_send_error(req, 503, NULL); /* not counted (out of memory): close it */
		return;
	}
	reset_headers(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		set_header(req, "Allow", "GET, HEAD");
		send_error(x, req, 405);
		return;
	}
	struct http_request_info info = {
		.host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host"),
		.peer = c->peer,
		.local = c->local,
		.head = cmd == EVHTTP_REQ_HEAD,
		.cfg = srv->cfg,
	};
	if (split_target(req, &buf, &info.path, &info.query) < 0) {
		send_error(x, req, 400);
		return;
	}
	if (!run_handlers(srv, x, req, &info))
		serve_static(srv, x, req, info.path);
	free(buf);
}

/* ---- server ------------------------------------------------------------------------------------ */

static int open_root(const char *root)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A listening TCP socket on a (bound before the privilege drop). */
static int bind_listen(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Settings of the evhttp object: every method reaches on_request (405 comes from pxed, with
 * Allow), bounded headers and bodies, idle/read/write timeout. */
static void configure(struct http_server *srv)
{
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						      EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						      EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(srv->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(srv->http, MAX_BODY_SIZE);
	evhttp_set_timeout(srv->http, (int)srv->cfg->http.timeout_s);
	evhttp_set_gencb(srv->http, on_request, srv);
	evhttp_set_bevcb(srv->http, on_new_bev, srv);
}

struct http_server *http_server_new(struct event_base *base, struct pxed_config *cfg)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	char addr[32];
	int fd;
	if (!srv)
		return NULL;
	srv->base = base;
	srv->cfg = config_ref(cfg);
	srv->rootfd = -1;
	netaddr_str(&cfg->http.listen, addr, sizeof(addr));
	if (cfg->http.root && (srv->rootfd = open_root(cfg->http.root)) < 0) {
		log_err("http: http.root %s: %s", cfg->http.root, strerror(-srv->rootfd));
		goto out_free;
	}
	srv->http = evhttp_new(base);
	srv->adopt_ev = event_new(base, -1, 0, on_adopt, srv);
	if (!srv->http || !srv->adopt_ev)
		goto out_free;
	configure(srv);
	if ((fd = bind_listen(&cfg->http.listen)) < 0) {
		log_err("http: cannot listen on %s: %s", addr, strerror(-fd));
		goto out_free;
	}
	if (!evhttp_accept_socket_with_handle(srv->http, fd)) {
		log_err("http: cannot accept on %s", addr);
		close(fd);
		goto out_free;
	}
	srv->laddr = cfg->http.listen;
	log_info("http: listening on %s, root %s", addr,
		 cfg->http.root ? cfg->http.root : "(none)");
	return srv;
out_free:
	http_server_free(srv);
	return NULL;
}

int http_server_route(struct http_server *srv, const char *prefix, http_handler_fn fn, void *ctx)
{
	if (!prefix || prefix[0] != '/' || !fn)
		return -EINVAL;
	if (srv->nroutes == HTTP_MAX_ROUTES)
		return -ENOSPC;
	char *p = strdup(prefix);
	if (!p)
		return -ENOMEM;
	srv->routes[srv->nroutes++] = (struct http_route){p, strlen(p), fn, ctx};
	return 0;
}

void http_server_reload(struct http_server *srv, struct pxed_config *cfg)
{
	if (cfg->http.listen.sin_addr.s_addr != srv->laddr.sin_addr.s_addr ||
	    cfg->http.listen.sin_port != srv->laddr.sin_port) {
		char a[32];
		log_warn("http: http.listen %s takes effect after a restart",
			 netaddr_str(&cfg->http.listen, a, sizeof(a)));
	}
	int fd = cfg->http.root ? open_root(cfg->http.root) : -1;
	if (cfg->http.root && fd < 0) {
		log_err("http: http.root %s: %s; still serving the previous root", cfg->http.root,
			strerror(-fd));
	} else {
		if (srv->rootfd >= 0)
			close(srv->rootfd);
		srv->rootfd = fd;
	}
	config_unref(srv->cfg);
	srv->cfg = config_ref(cfg);
	evhttp_set_timeout(srv->http, (int)cfg->http.timeout_s);
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	srv->stopping = true;
	if (srv->http)
		evhttp_free(srv->http); /* the listener, then every connection (on_conn_close) */
	for (size_t i = 0; i < srv->npending; i++)
		bufferevent_decref(srv->pending[i]);
	while (srv->conns) /* only if evhttp skipped a close callback */
		conn_forget(srv, srv->conns);
	if (srv->adopt_ev)
		event_free(srv->adopt_ev);
	free(srv->pending);
	for (size_t i = 0; i < srv->nroutes; i++)
		free(srv->routes[i].prefix);
	if (srv->rootfd >= 0)
		close(srv->rootfd);
	config_unref(srv->cfg);
	free(srv);
}

/* ---- the response builder of handlers ------------------------------------------------------------ */

int http_response_set_body(struct http_response *resp, const void *p, size_t n, const char *type)
{
	evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
	snprintf(resp->type, sizeof(resp->type), "%s", type ? type : "text/plain");
	return http_response_append(resp, p, n);
}

int http_response_append(struct http_response *resp, const void *p, size_t n)
{
	return n == 0 || evbuffer_add(resp->body, p, n) == 0 ? 0 : -ENOMEM;
}

struct evbuffer *http_response_body(struct http_response *resp)
{
	return resp->body;
}

/* RFC 9110 §5.6.2 token character. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	static const char *const owned[] = {"Content-Length", "Transfer-Encoding", "Connection"};
	if (!name || !value || !name[0])
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return -EINVAL;
	if (strpbrk(value, "\r\n"))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strcasecmp(name, owned[i]) == 0)
			return -EINVAL;
	if (strcasecmp(name, "Content-Type") == 0) {
		snprintf(resp->type, sizeof(resp->type), "%s", value);
		return 0;
	}
	return evhttp_add_header(evhttp_request_get_output_headers(resp->req), name, value) == 0
		       ? 0
		       : -EINVAL;
}

int http_response_set_file(struct http_response *resp, int fd, const char *etag,
			   int64_t last_modified, const char *type)
{
	if (resp->fd >= 0)
		close(resp->fd);
	resp->fd = fd;
	if (type)
		snprintf(resp->type, sizeof(resp->type), "%s", type);
	if (etag)
		return http_response_set_validators(resp, etag, last_modified);
	return 0;
}

int http_response_set_validators(struct http_response *resp, const char *etag,
				 int64_t last_modified)
{
	size_t n = strlen(etag);
	if (n < 2 || n >= sizeof(resp->etag) || etag[0] != '"' || etag[n - 1] != '"')
		return -EINVAL;
	memcpy(resp->etag, etag, n + 1);
	resp->last_modified = last_modified;
	resp->validators = true;
	return 0;
}

struct http_deferred *http_response_defer(struct http_response *resp)
{
	const struct http_request_info *in = resp->info;
	size_t pl = strlen(in->path) + 1, ql = in->query ? strlen(in->query) + 1 : 0;
	size_t hl = in->host ? strlen(in->host) + 1 : 0;
	struct http_deferred *d = calloc(1, sizeof(*d));
	char *buf = malloc(pl + ql + hl);
	if (!d || !buf || resp->deferred) {
		free(d);
		free(buf);
		return NULL;
	}
	d->srv = resp->srv;
	d->req = resp->req;
	d->x = resp->x;
	d->buf = buf;
	d->info = *in;
	memcpy(buf, in->path, pl);
	d->info.path = buf;
	if (ql) {
		memcpy(buf + pl, in->query, ql);
		d->info.query = buf + pl;
	}
	if (hl) {
		memcpy(buf + pl + ql, in->host, hl);
		d->info.host = buf + pl + ql;
	}
	d->info.cfg = config_ref(in->cfg);
	resp->deferred = d;
	return d;
}

bool http_deferred_alive(const struct http_deferred *d)
{
	return d->x != NULL;
}

const struct http_request_info *http_deferred_info(const struct http_deferred *d)
{
	return &d->info;
}

void http_deferred_resume(struct http_deferred *d, http_handler_fn fn, void *ctx)
{
	struct http_exchange *x = d->x;
	if (x) {
		x->deferred = NULL;
		struct http_response resp = {.req = d->req,
					     .body = evbuffer_new(),
					     .fd = -1,
					     .srv = d->srv,
					     .x = x,
					     .info = &d->info};
		int status = resp.body ? fn(ctx, &d->info, &resp) : 503;
		if (status == 0)
			status = 404;
		if (resp.deferred) { /* no second deferral */
			http_deferred_free(resp.deferred);
			status = 500;
		}
		if (!resp.body) {
			send_error(x, d->req, 503);
		} else {
			send_handler_response(x, d->req, status, &resp, d->info.path);
			evbuffer_free(resp.body);
		}
		if (resp.fd >= 0)
			close(resp.fd);
		d->x = NULL;
	}
	config_unref((struct pxed_config *)d->info.cfg);
	free(d->buf);
	free(d);
}

static int answer_503(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	(void)ctx;
	(void)req;
	(void)resp;
	return 503;
}

void http_deferred_free(struct http_deferred *d)
{
	if (d)
		http_deferred_resume(d, answer_503, NULL);
}

struct event_base *http_server_base(const struct http_server *srv)
{
	return srv->base;
}
