/* Configuration loading; see config.h. Keys are a table: each names its section, key, type,
 * where it lives in struct pxed_config, its bounds and its default. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

enum key_type {
	K_STR,
	K_PATH,
	K_BOOL,
	K_UINT,
	K_U16,
	K_ENDPOINT,
	K_NETLIST,
	K_PORTS,
	K_LOGLVL,
	K_BLKSIZE,
	K_U64
};

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t off;
	unsigned long long min, max;
	const char *def; /* default as text, parsed like a config value; NULL: zero */
};

#define OFF(field) offsetof(struct pxed_config, field)

static const struct key_def keys[] = {
	{"server", "user", K_STR, OFF(server.user), 0, 0, NULL},
	{"server", "state-dir", K_PATH, OFF(server.state_dir), 0, 0, "/var/lib/pxed"},
	{"server", "log-level", K_LOGLVL, OFF(server.log_level), 0, 0, "info"},
	{"server", "syslog", K_BOOL, OFF(server.log_syslog), 0, 0, "no"},
	{"tftp", "enabled", K_BOOL, OFF(tftp.enabled), 0, 0, "yes"},
	{"tftp", "root", K_PATH, OFF(tftp.root), 0, 0, "/srv/tftp"},
	{"tftp", "listen", K_ENDPOINT, OFF(tftp.listen), 69, 0, "0.0.0.0:69"},
	{"tftp", "port-range", K_PORTS, OFF(tftp.port_lo), 0, 0, NULL},
	{"tftp", "single-port", K_BOOL, OFF(tftp.single_port), 0, 0, "no"},
	{"tftp", "max-transfers", K_UINT, OFF(tftp.max_transfers), 1, 100000, "2000"},
	{"tftp", "max-per-client", K_UINT, OFF(tftp.max_per_client), 1, 100000, "32"},
	{"tftp", "allow", K_NETLIST, OFF(tftp.allow), 0, 0, NULL},
	{"tftp", "write", K_BOOL, OFF(tftp.write), 0, 0, "no"},
	{"tftp", "write-create", K_BOOL, OFF(tftp.write_create), 0, 0, "no"},
	{"tftp", "blksize-max", K_BLKSIZE, OFF(tftp.blksize_max), 8, 65464, "mtu"},
	{"tftp", "windowsize-max", K_U16, OFF(tftp.windowsize_max), 1, 64, "64"},
	{"tftp", "retransmit-ms", K_UINT, OFF(tftp.retransmit_ms), 10, 60000, "1000"},
	{"tftp", "retransmit-min-ms", K_UINT, OFF(tftp.retransmit_min_ms), 1, 60000, "50"},
	{"tftp", "retransmit-max-ms", K_UINT, OFF(tftp.retransmit_max_ms), 10, 120000, "5000"},
	{"tftp", "retries", K_UINT, OFF(tftp.retries), 1, 100, "8"},
	{"tftp", "netascii-max-bytes", K_U64, OFF(tftp.netascii_max_bytes), 0, 1ull << 32,
	 "16777216"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct load_ctx {
	struct pxed_config *cfg;
	struct config_errors *errs;
	const char *file;  /* for messages */
	int line;	   /* current line in file */
	int seen[NKEYS];   /* line where each key was set in the file, 0 = not yet */
	char section[128]; /* last section header seen, for unknown-section errors */
};

static void add_error(struct config_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct config_errors *errs, const char *fmt, ...)
{
	if (errs->n == sizeof(errs->msg) / sizeof(errs->msg[0])) {
		errs->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		errs->msg[errs->n++] = m;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_ull(const char *v, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long x = 0;
	if (!*v)
		return false;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (x > (max - (unsigned long long)(*p - '0')) / 10)
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	if (x < min)
		return false;
	*out = x;
	return true;
}

/* Store a string key, replacing any previous value. */
static void set_str(struct pxed_config *c, size_t off, const char *v)
{
	char **slot = (char **)((char *)c + off);
	free(*slot);
	*slot = *v ? strdup(v) : NULL;
}

/* Parse value v for key k into c. Returns NULL or a static/explanatory message in buf. */
static const char *apply_value(struct pxed_config *c, const struct key_def *k, const char *v,
			       char *buf, size_t cap)
{
	void *slot = (char *)c + k->off;
	const char *why = NULL;
	unsigned long long n;
	switch (k->type) {
	case K_STR: set_str(c, k->off, v); return NULL;
	case K_PATH:
		if (v[0] != '/')
			return "must be an absolute path";
		set_str(c, k->off, v);
		{
			char *s = *(char **)slot;
			size_t len = strlen(s);
			while (len > 1 && s[len - 1] == '/')
				s[--len] = 0;
		}
		return NULL;
	case K_BOOL: return parse_bool(v, slot) ? NULL : "expected yes or no";
	case K_UINT:
	case K_U16:
	case K_U64:
		if (!parse_ull(v, k->min, k->max, &n)) {
			snprintf(buf, cap, "expected a whole number from %llu to %llu", k->min,
				 k->max);
			return buf;
		}
		if (k->type == K_UINT)
			*(unsigned *)slot = (unsigned)n;
		else if (k->type == K_U16)
			*(uint16_t *)slot = (uint16_t)n;
		else
			*(uint64_t *)slot = n;
		return NULL;
	case K_BLKSIZE:
		if (strcasecmp(v, "mtu") == 0) {
			*(uint16_t *)slot = 0;
			return NULL;
		}
		if (!parse_ull(v, k->min, k->max, &n))
			return "expected \"mtu\" or a block size from 8 to 65464";
		*(uint16_t *)slot = (uint16_t)n;
		return NULL;
	case K_ENDPOINT:
		return netaddr_parse_endpoint(v, (uint16_t)k->min, slot, &why) ? why : NULL;
	case K_NETLIST: return netaddr_parse_netlist(v, slot, &why) ? why : NULL;
	case K_PORTS:
		if (!*v) {
			c->tftp.port_lo = c->tftp.port_hi = 0;
			return NULL;
		}
		return netaddr_parse_port_range(v, &c->tftp.port_lo, &c->tftp.port_hi, &why) ? why
											     : NULL;
	case K_LOGLVL: {
		int l = log_level_parse(v);
		if (l < 0)
			return "expected error, warning, info or debug";
		*(enum log_level *)slot = (enum log_level)l;
		return NULL;
	}
	}
	return "internal error: unknown key type";
}

static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/* Cut an inline comment (" # ..." or " ; ...") and trailing blanks off v, in place. */
static void strip_inline_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	}
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = 0;
}

/* inih callback: one key = value of the file. */
static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	if (!name) /* section header alone (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
		return 1;
	char v[4096];
	snprintf(v, sizeof(v), "%s", value ? value : "");
	strip_inline_comment(v);
	if (!*section) {
		add_error(ctx->errs, "%s:%d: key \"%s\" outside any [section]", ctx->file,
			  ctx->line, name);
		return 1;
	}
	if (!known_section(section)) {
		if (strcmp(ctx->section, section) != 0)
			add_error(ctx->errs, "%s:%d: unknown section [%s]", ctx->file, ctx->line,
				  section);
		snprintf(ctx->section, sizeof(ctx->section), "%s", section);
		return 1;
	}
	const struct key_def *k = find_key(section, name);
	if (!k) {
		add_error(ctx->errs, "%s:%d: unknown key \"%s\" in [%s]", ctx->file, ctx->line,
			  name, section);
		return 1;
	}
	size_t idx = (size_t)(k - keys);
	if (ctx->seen[idx]) {
		add_error(ctx->errs, "%s:%d: %s.%s set twice (first at line %d)", ctx->file,
			  ctx->line, section, name, ctx->seen[idx]);
		return 1;
	}
	ctx->seen[idx] = ctx->line;
	char buf[128];
	const char *why = apply_value(ctx->cfg, k, v, buf, sizeof(buf));
	if (why)
		add_error(ctx->errs, "%s:%d: %s.%s = \"%s\": %s", ctx->file, ctx->line, section,
			  name, v, why);
	return 1;
}

struct line_reader {
	FILE *f;
	struct load_ctx *ctx;
};

/* inih stream reader that counts lines, so handler errors carry file:line. */
static char *read_line(char *str, int num, void *stream)
{
	struct line_reader *r = stream;
	char *s = fgets(str, num, r->f);
	if (s)
		r->ctx->line++;
	return s;
}

static void load_file(struct load_ctx *ctx, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		add_error(ctx->errs, "%s: cannot open: %s", path, strerror(errno));
		return;
	}
	struct line_reader r = {f, ctx};
	ctx->file = path;
	ctx->line = 0;
	int rc = ini_parse_stream(read_line, &r, on_ini_value, ctx);
	if (rc > 0)
		add_error(ctx->errs, "%s:%d: syntax error (expected [section] or key = value)",
			  path, rc);
	fclose(f);
}

/* Apply one "section.key=value" override. */
static void load_override(struct load_ctx *ctx, const char *o)
{
	const char *eq = strchr(o, '=');
	const char *dot = strchr(o, '.');
	if (!eq || !dot || dot > eq) {
		add_error(ctx->errs, "-o %s: expected section.key=value", o);
		return;
	}
	char section[64], key[64];
	snprintf(section, sizeof(section), "%.*s", (int)(dot - o), o);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
	const struct key_def *k = find_key(section, key);
	if (!k) {
		add_error(ctx->errs, "-o %s: unknown key %s.%s", o, section, key);
		return;
	}
	char buf[128];
	const char *why = apply_value(ctx->cfg, k, eq + 1, buf, sizeof(buf));
	if (why)
		add_error(ctx->errs, "-o %s: %s", o, why);
}

/* Cross-key checks after everything is loaded. */
static void validate(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	const struct config_tftp *t = &c->tftp;
	if (t->retransmit_min_ms > t->retransmit_max_ms)
		add_error(errs,
			  "%s: tftp.retransmit-min-ms (%u) is above tftp.retransmit-max-ms (%u)",
			  where, t->retransmit_min_ms, t->retransmit_max_ms);
	if (t->max_per_client > t->max_transfers)
		add_error(errs, "%s: tftp.max-per-client (%u) is above tftp.max-transfers (%u)",
			  where, t->max_per_client, t->max_transfers);
	if (t->single_port && t->port_lo)
		add_error(errs, "%s: tftp.single-port and tftp.port-range exclude each other",
			  where);
}

static void open_root(struct pxed_config *c, struct config_errors *errs, const char *where)
{
	if (!c->tftp.enabled)
		return;
	c->tftp_root_fd = open(c->tftp.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->tftp_root_fd < 0)
		add_error(errs, "%s: tftp.root %s: %s", where, c->tftp.root, strerror(errno));
}

struct pxed_config *config_load(const char *path, const char *const *overrides, size_t n,
				bool open_root_dir, struct config_errors *errs)
{
	struct pxed_config *c = calloc(1, sizeof(*c));
	struct load_ctx ctx = {.cfg = c, .errs = errs};
	if (!c)
		return NULL;
	c->refs = 1;
	c->tftp_root_fd = -1;
	size_t before = errs->n;
	char buf[128];
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].def && apply_value(c, &keys[i], keys[i].def, buf, sizeof(buf)))
			add_error(errs, "internal error: bad default for %s.%s", keys[i].section,
				  keys[i].key);
	if (path) {
		c->source = strdup(path);
		load_file(&ctx, path);
	}
	for (size_t i = 0; i < n; i++)
		load_override(&ctx, overrides[i]);
	const char *where = path ? path : "(command line)";
	validate(c, errs, where);
	if (open_root_dir && errs->n == before)
		open_root(c, errs, where);
	if (errs->n != before) {
		config_unref(c);
		return NULL;
	}
	return c;
}

struct pxed_config *config_ref(struct pxed_config *c)
{
	c->refs++;
	return c;
}

void config_unref(struct pxed_config *c)
{
	if (!c || --c->refs > 0)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == K_STR || keys[i].type == K_PATH)
			free(*(char **)((char *)c + keys[i].off));
	if (c->tftp_root_fd >= 0)
		close(c->tftp_root_fd);
	free(c->source);
	free(c);
}

void config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	errs->n = 0;
	errs->dropped = 0;
}

/* Render one key's value as text. */
static void value_str(const struct pxed_config *c, const struct key_def *k, char *out, size_t cap)
{
	const void *slot = (const char *)c + k->off;
	char a[32];
	switch (k->type) {
	case K_STR:
	case K_PATH:
		snprintf(out, cap, "%s", *(char *const *)slot ? *(char *const *)slot : "");
		break;
	case K_BOOL: snprintf(out, cap, "%s", *(const bool *)slot ? "yes" : "no"); break;
	case K_UINT: snprintf(out, cap, "%u", *(const unsigned *)slot); break;
	case K_U16: snprintf(out, cap, "%u", *(const uint16_t *)slot); break;
	case K_U64: snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)slot); break;
	case K_BLKSIZE:
		if (*(const uint16_t *)slot)
			snprintf(out, cap, "%u", *(const uint16_t *)slot);
		else
			snprintf(out, cap, "mtu");
		break;
	case K_ENDPOINT: netaddr_str(slot, out, cap); break;
	case K_PORTS:
		if (c->tftp.port_lo)
			snprintf(out, cap, "%u-%u", c->tftp.port_lo, c->tftp.port_hi);
		else
			snprintf(out, cap, "%s", "");
		break;
	case K_NETLIST: {
		const struct netlist *l = slot;
		size_t o = 0;
		out[0] = 0;
		for (size_t i = 0; i < l->n && o < cap; i++) {
			struct in_addr ia = {htonl(l->nets[i].addr)};
			int plen = __builtin_popcount(l->nets[i].mask);
			o += (size_t)snprintf(out + o, cap - o, "%s%s/%d", i ? ", " : "",
					      inet_ntop(AF_INET, &ia, a, sizeof(a)), plen);
		}
		break;
	}
	case K_LOGLVL: {
		static const char *n[] = {"error", "warning", "info", "debug"};
		snprintf(out, cap, "%s", n[*(const enum log_level *)slot]);
		break;
	}
	}
}

void config_dump(const struct pxed_config *c, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < NKEYS && o < cap; i++) {
		char v[512];
		value_str(c, &keys[i], v, sizeof(v));
		o += (size_t)snprintf(out + o, cap - o, "%s.%s = %s\n", keys[i].section,
				      keys[i].key, v);
	}
}
