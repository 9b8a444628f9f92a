/* Control socket; see control.h. */
#include "core/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "boot/sbuf.h"
#include "core/log.h"

struct control {
	struct evconnlistener *listener;
	control_fn fn;
	void *ctx;
	char path[108];
};

static void on_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev); /* EOF, error or timeout */
}

static void on_line(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > 1024)
			bufferevent_free(bev);
		return;
	}
	struct sbuf out;
	sbuf_init(&out);
	int rc = c->fn(c->ctx, line, &out);
	if (rc < 0 && !out.len)
		sbuf_printf(&out, "error: %s\n", strerror(-rc));
	free(line);
	bufferevent_setcb(bev, NULL, on_written, on_event, c);
	bufferevent_write(bev, out.p ? out.p : "", out.len);
	sbuf_free(&out);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	struct timeval tv = {5, 0};
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, on_line, NULL, on_event, arg);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct control *control_new(struct event_base *base, const char *dir, control_fn fn, void *ctx)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (!c)
		return NULL;
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/pxed.sock", dir) >= sizeof(c->path) ||
	    strlen(c->path) >= sizeof(sun.sun_path)) {
		log_err("control: socket path %s/pxed.sock is too long", dir);
		free(c);
		return NULL;
	}
	strcpy(sun.sun_path, c->path);
	unlink(c->path); /* a stale socket of a previous run (the store lock keeps us unique) */
	c->fn = fn;
	c->ctx = ctx;
	mode_t old = umask(0117);
	c->listener = evconnlistener_new_bind(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, 16,
					      (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!c->listener) {
		log_err("control: cannot listen on %s: %s", c->path, strerror(errno));
		free(c);
		return NULL;
	}
	return c;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c);
}

int control_request(const char *dir, const char *line, char *out, size_t cap)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/pxed.sock", dir) >=
	    sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int rc = 0;
	size_t len = strlen(line), o = 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		rc = -errno;
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, out + o, cap - 1 - o);
		if (n <= 0)
			break;
		o += (size_t)n;
		if (o == cap - 1)
			break;
	}
	out[o] = 0;
out_close:
	close(fd);
	return rc;
}
