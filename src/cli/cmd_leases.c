/* pxed leases: list the leases of the store in server.state-dir. Opens the database read-only,
 * so it works while pxed serve runs (a WAL reader never blocks the writer) and shows what was
 * last committed. Run as root, it reads as the owner of pxed.db. See docs/store.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/escape.h"
#include "dhcp/lease.h"
#include "store/store.h"

/* What to print, and counters for the summary. */
struct leases_view {
	FILE *out;
	bool all;  /* every row, not only bound leases */
	bool json; /* a JSON array instead of the table */
	int64_t now;
	size_t shown, total;
};

static const char *const state_names[] = {
	[LEASE_OFFERED] = "offered", [LEASE_BOUND] = "bound",	    [LEASE_RELEASED] = "released",
	[LEASE_EXPIRED] = "expired", [LEASE_DECLINED] = "declined",
};

static const char *state_name(enum lease_state s)
{
	size_t i = (size_t)s;
	if (i < sizeof(state_names) / sizeof(state_names[0]) && state_names[i])
		return state_names[i];
	return "?";
}

/* Hardware address as "52:54:00:12:34:56" ("-" when hlen is 0). out: at least 49 bytes. */
static void format_mac(char *out, const struct dhcp_lease *l)
{
	size_t n = l->hlen < sizeof(l->chaddr) ? l->hlen : sizeof(l->chaddr);
	strcpy(out, n ? "" : "-");
	for (size_t i = 0; i < n; i++)
		sprintf(out + 3 * i, i + 1 < n ? "%02x:" : "%02x", l->chaddr[i]);
}

/* Time left as "in 42s", "in 5m", "in 3h 12m", "in 2d 4h"; "expired" when none. */
static void format_left(char *out, size_t cap, int64_t secs)
{
	if (secs <= 0)
		snprintf(out, cap, "expired");
	else if (secs >= 86400)
		snprintf(out, cap, "in %" PRId64 "d %" PRId64 "h", secs / 86400,
			 secs % 86400 / 3600);
	else if (secs >= 3600)
		snprintf(out, cap, "in %" PRId64 "h %" PRId64 "m", secs / 3600, secs % 3600 / 60);
	else if (secs >= 60)
		snprintf(out, cap, "in %" PRId64 "m", secs / 60);
	else
		snprintf(out, cap, "in %" PRId64 "s", secs);
}

/* "2024-05-01 12:34:56 (in 5m)" in local time. */
static void format_expiry(char *out, size_t cap, int64_t ends, int64_t now)
{
	char when[32] = "?", left[40];
	time_t t = (time_t)ends;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	format_left(left, sizeof(left), ends - now);
	snprintf(out, cap, "%s (%s)", when, left);
}

/* Untrusted text (a client's host name) for the terminal: escaped, "-" when empty. */
static const char *show_text(char *out, size_t cap, const char *s)
{
	if (!s[0])
		return "-";
	return str_escape(out, cap, s, strlen(s));
}

static void print_header(FILE *f)
{
	fprintf(f, "%-17s  %-15s  %-8s  %-20s  %-32s  %-16s  %s\n", "MAC", "IP", "STATE",
		"HOSTNAME", "EXPIRES", "NODE", "ARCH");
}

/* One table line. */
static void print_row(struct leases_view *v, const struct dhcp_lease *l)
{
	char mac[64], ip[INET_ADDRSTRLEN], host[4 * LEASE_HOSTNAME_MAX], node[4 * LEASE_NODE_MAX];
	char expires[96], arch[8] = "-";
	struct in_addr a = {.s_addr = htonl(l->ip)};
	format_mac(mac, l);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	format_expiry(expires, sizeof(expires), l->ends, v->now);
	if (l->arch != 0xffff)
		snprintf(arch, sizeof(arch), "%u", (unsigned)l->arch);
	fprintf(v->out, "%-17s  %-15s  %-8s  %-20s  %-32s  %-16s  %s\n", mac, ip,
		state_name(l->state), show_text(host, sizeof(host), l->hostname), expires,
		show_text(node, sizeof(node), l->node), arch);
}

/* A JSON string: quotes, backslashes, control characters and bytes >= 0x7f escaped as \uXXXX
 * (non-ASCII bytes are shown as the Latin-1 characters of their values). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* One JSON object (an element of the array). */
static void print_json(struct leases_view *v, const struct dhcp_lease *l)
{
	char mac[64], ip[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = htonl(l->ip)};
	format_mac(mac, l);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	FILE *f = v->out;
	fprintf(f, "%s\n  {\"mac\": \"%s\", \"ip\": \"%s\", \"state\": \"%s\", \"hostname\": ",
		v->shown ? "," : "", l->hlen ? mac : "", ip, state_name(l->state));
	json_str(f, l->hostname);
	fprintf(f, ", \"node\": ");
	json_str(f, l->node);
	fprintf(f, ", \"htype\": %u, \"client_id\": ", (unsigned)l->htype);
	if (l->client_id_len) {
		fputc('"', f);
		for (unsigned i = 0; i < l->client_id_len; i++)
			fprintf(f, "%02x", l->client_id[i]);
		fputc('"', f);
	} else {
		fputs("null", f);
	}
	fprintf(f, ", \"starts\": %" PRId64 ", \"ends\": %" PRId64 ", \"expired\": %s, \"arch\": ",
		l->starts, l->ends, l->ends <= v->now ? "true" : "false");
	if (l->arch != 0xffff)
		fprintf(f, "%u}", (unsigned)l->arch);
	else
		fputs("null}", f);
}

/* store_load_leases callback. */
static int on_lease(void *ctx, const struct dhcp_lease *l)
{
	struct leases_view *v = ctx;
	v->total++;
	if (!v->all && l->state != LEASE_BOUND)
		return 0;
	if (v->json)
		print_json(v, l);
	else
		print_row(v, l);
	v->shown++;
	return 0;
}

/* Take --all and --json out of argv (in place, keeping -c/-o and their values for
 * cli_parse_config_args); returns the number of arguments left. */
static int take_flags(int argc, char **argv, struct leases_view *v)
{
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all")) {
			v->all = true;
		} else if (!strcmp(argv[i], "--json")) {
			v->json = true;
		} else {
			bool takes_value = !strcmp(argv[i], "-c") || !strcmp(argv[i], "--config") ||
					   !strcmp(argv[i], "-o");
			argv[n++] = argv[i];
			if (takes_value && i + 1 < argc)
				argv[n++] = argv[++i];
		}
	}
	return n;
}

/* Run as root, become the owner of pxed.db before reading it: SQLite may create its -wal and
 * -shm files, and those must stay usable by the daemon's user (server.user). */
static int become_db_owner(const char *state_dir)
{
	char path[4096];
	struct stat sb;
	if (geteuid() != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, STORE_DB_NAME);
	if (stat(path, &sb) < 0 || sb.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(sb.st_gid) < 0 || setuid(sb.st_uid) < 0) {
		fprintf(stderr, "pxed leases: cannot become uid %u, the owner of %s: %s\n",
			(unsigned)sb.st_uid, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Open the store read-only and print every (bound) lease; returns the exit status. */
static int list_leases(const char *state_dir, struct leases_view *v)
{
	struct store *st;
	char err[1024];
	if (store_open_readonly(state_dir, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "pxed leases: %s\n", err);
		return 1;
	}
	if (v->json)
		fputc('[', v->out);
	else
		print_header(v->out);
	int r = store_load_leases(st, on_lease, v);
	if (v->json)
		fputs(v->shown ? "\n]\n" : "]\n", v->out);
	if (r < 0)
		fprintf(stderr, "pxed leases: %s\n", store_errmsg(st));
	else if (!v->json)
		fprintf(stderr, "%zu of %zu leases shown%s (%s)\n", v->shown, v->total,
			v->all ? "" : ", bound only: --all shows every row", store_path(st));
	store_close(st);
	if (fflush(v->out) != 0 || ferror(v->out)) {
		perror("pxed leases: stdout");
		return 1;
	}
	return r < 0 ? 1 : 0;
}

int cmd_leases(int argc, char **argv)
{
	struct leases_view v = {.out = stdout, .now = (int64_t)time(NULL)};
	struct cli_config_args a;
	struct config_errors errs = {0};
	argc = take_flags(argc, argv, &v);
	if (cli_parse_config_args(argc, argv, &a, NULL) < 0)
		return 2;
	int rc = 1;
	struct pxed_config *cfg = config_load(a.file, a.overrides, a.n, false, &errs);
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		if (errs.dropped)
			fprintf(stderr, "(%zu more errors)\n", errs.dropped);
		goto out_errs;
	}
	if (become_db_owner(cfg->server.state_dir) == 0)
		rc = list_leases(cfg->server.state_dir, &v);
	config_unref(cfg);
out_errs:
	config_errors_clear(&errs);
	free(a.overrides);
	return rc;
}
