/* Tests of the HTTP adapter's handler API (src/http/http_io.c) on loopback: the server runs on a
 * libevent loop in this process, a forked child makes blocking requests and checks the
 * responses (its exit status is its failure count); the handlers, running in this process,
 * check what they are given. Also: connections are counted and come back to 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "http/http_io.h"
#include "test.h"

static uint16_t port;
static int handler_calls;

/* A port nothing listens on right now (bind to 0, read it back, close). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		abort();
	close(fd);
	return ntohs(a.sin_port);
}

/* "/hello": checks the request info; echoes the query; adds a header. */
static int h_hello(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	handler_calls++;
	CHECK(ctx == &handler_calls);
	CHECK(req->cfg != NULL);
	CHECK_EQ(ntohl(req->peer.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ(ntohs(req->local.sin_port), port);
	CHECK_EQ(ntohl(req->local.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_STR(req->host, "pxed.test");
	if (strcmp(req->path, "/hello/x%20y") == 0) {
		CHECK_STR(req->query, "a=1&b=%2e");
	}
	CHECK_EQ(http_response_header(resp, "X-Test", "yes"), 0);
	CHECK_EQ(http_response_header(resp, "Bad Name", "x"), -EINVAL);
	CHECK_EQ(http_response_header(resp, "X-Inject", "a\r\nSet-Cookie: x"), -EINVAL);
	CHECK_EQ(http_response_header(resp, "content-length", "5"), -EINVAL);
	CHECK_EQ(http_response_header(resp, "Connection", "close"), -EINVAL);
	CHECK_EQ(http_response_set_body(resp, "hello ", 6, "text/x-test"), 0);
	evbuffer_add_printf(http_response_body(resp), "%s", req->query ? req->query : "-");
	CHECK_EQ(http_response_append(resp, "\n", 1), 0);
	return 200;
}

/* "/pass": not mine (after adding a header that must not leak into the next answer). */
static int h_pass(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	http_response_header(resp, "X-Leak", "1");
	http_response_set_body(resp, "leak", 4, NULL);
	return 0;
}

/* "/status/NNN": that status with no body; "/status/bogus": an invalid status. */
static int h_status(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	int status = atoi(req->path + strlen("/status/"));
	return status ? status : 42;
}

/* "/type": a Content-Type given as a header. */
static int h_type(void *ctx, const struct http_request_info *req, struct http_response *resp)
{
	http_response_header(resp, "Content-Type", "application/x-test");
	http_response_append(resp, "{}", 2);
	return 201;
}

/* ---- the client (child process) ------------------------------------------------------------ */

static int child_failures;

#define EXPECT(cond)                                                                              \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			child_failures++;                                                         \
			fprintf(stderr, "%s:%d: child: failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                 \
	} while (0)

/* One request on a new connection; the whole response (until close) into buf. */
static size_t exchange(const char *req, char *buf, size_t cap)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, req, strlen(req)) < 0) {
		close(fd);
		return 0;
	}
	for (ssize_t r; n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0;)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return n;
}

static const char *get(const char *method, const char *target, char *buf, size_t cap)
{
	char req[512];
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: pxed.test\r\nConnection: close\r\n\r\n",
		 method, target);
	exchange(req, buf, cap);
	return buf;
}

static void client(void)
{
	char b[4096];
	get("GET", "/hello/x%20y?a=1&b=%2e", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strstr(b, "\r\nX-Test: yes\r\n"));
	EXPECT(strstr(b, "\r\nContent-Type: text/x-test\r\n"));
	EXPECT(strstr(b, "\r\nContent-Length: 16\r\n"));
	EXPECT(strstr(b, "\r\n\r\nhello a=1&b=%2e\n"));
	EXPECT(!strstr(b, "Bad Name") && !strstr(b, "Set-Cookie") && !strstr(b, "X-Inject"));
	get("HEAD", "/hello", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strstr(b, "\r\nContent-Length: 8\r\n")); /* "hello -\n", not sent */
	EXPECT(strstr(b, "\r\n\r\n") && strstr(b, "\r\n\r\n")[4] == '\0');
	get("GET", "/pass/file.txt", b, sizeof(b)); /* not mine: static file */
	EXPECT(strncmp(b, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strstr(b, "\r\n\r\nstatic\n"));
	EXPECT(!strstr(b, "X-Leak") && !strstr(b, "leak\r"));
	EXPECT(strstr(b, "\r\nServer: pxed/"));
	get("GET", "/status/404", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 404 ", 13) == 0 && strstr(b, "\r\n\r\n404 Not Found\n"));
	get("GET", "/status/204", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 204 ", 13) == 0 && !strstr(b, "Content-Length"));
	get("GET", "/status/bogus", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 500 ", 13) == 0);
	get("GET", "/type", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 201 ", 13) == 0);
	EXPECT(strstr(b, "\r\nContent-Type: application/x-test\r\n") && strstr(b, "\r\n\r\n{}"));
	get("POST", "/hello", b, sizeof(b)); /* handlers see GET and HEAD only */
	EXPECT(strncmp(b, "HTTP/1.1 405 ", 13) == 0 && strstr(b, "\r\nAllow: GET, HEAD\r\n"));
	get("GET", "/nothing-here", b, sizeof(b));
	EXPECT(strncmp(b, "HTTP/1.1 404 ", 13) == 0);
	/* Keep-alive: two requests on one connection, both answered. */
	exchange("GET /hello HTTP/1.1\r\nHost: pxed.test\r\n\r\n"
		 "GET /hello?2 HTTP/1.1\r\nHost: pxed.test\r\nConnection: close\r\n\r\n",
		 b, sizeof(b));
	EXPECT(strstr(b, "hello -\n") && strstr(b, "hello 2\n"));
}

/* ---- the server (this process) ---------------------------------------------------------------- */

static void on_child(evutil_socket_t sig, short what, void *arg)
{
	struct timeval settle = {0, 300000}; /* let the last close callbacks run */
	event_base_loopexit(arg, &settle);
}

static void test_handlers(void)
{
	char listen[64], root[] = "/tmp/pxed-test-http-io.XXXXXX", path[128];
	const char *ov[4];
	struct config_errors errs = {0};
	port = free_port();
	CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/pass", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/pass/file.txt", root);
	FILE *f = fopen(path, "w");
	fputs("static\n", f);
	fclose(f);
	snprintf(listen, sizeof(listen), "http.listen=127.0.0.1:%u", port);
	char rootopt[96];
	snprintf(rootopt, sizeof(rootopt), "http.root=%s", root);
	ov[0] = "http.enabled=yes";
	ov[1] = listen;
	ov[2] = rootopt;
	ov[3] = "tftp.enabled=no";
	struct pxed_config *cfg = config_load(NULL, ov, 4, false, &errs);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	struct event_base *base = event_base_new();
	struct http_server *srv = http_server_new(base, cfg);
	CHECK(srv != NULL);
	CHECK_EQ(http_server_route(srv, "/hello", h_hello, &handler_calls), 0);
	CHECK_EQ(http_server_route(srv, "/pass", h_pass, NULL), 0);
	CHECK_EQ(http_server_route(srv, "/status/", h_status, NULL), 0);
	CHECK_EQ(http_server_route(srv, "/type", h_type, NULL), 0);
	CHECK_EQ(http_server_route(srv, "nope", h_pass, NULL), -EINVAL);
	CHECK_EQ(http_server_route(srv, "/x", NULL, NULL), -EINVAL);
	struct event *chld = evsignal_new(base, SIGCHLD, on_child, base);
	event_add(chld, NULL);
	struct timeval limit = {20, 0};
	event_base_loopexit(base, &limit);
	pid_t pid = fork();
	if (pid == 0) {
		client();
		_exit(child_failures > 100 ? 100 : child_failures);
	}
	event_base_dispatch(base);
	int status = -1;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(handler_calls, 4);
	CHECK_EQ(http_server_connections(srv), 0);
	CHECK_EQ(http_server_refused(srv), 0);
	event_free(chld);
	http_server_free(srv);
	event_base_free(base);
	config_unref(cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	CHECK_EQ(system(path), 0);
}

int main(void)
{
	log_setup(LOG_LVL_WARN, true, false);
	signal(SIGPIPE, SIG_IGN);
	RUN(test_handlers);
	return test_summary();
}
