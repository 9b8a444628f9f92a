/* Renderers; see render.h. */
#include "boot/render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

static int done(struct sbuf *out)
{
	return out->failed ? -ENOMEM : 0;
}

/* Does the command line (len bytes of s) have a root= parameter? */
static bool has_root(const char *s, size_t len)
{
	for (size_t i = 0; i + 5 <= len; i++)
		if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t') && !strncmp(s + i, "root=", 5))
			return true;
	return false;
}

/* diskless = nfs without root=: the NFS root parameters (docs/diskless.md). */
static int nfs_root_params(const struct boot_ctx *b, struct sbuf *out, size_t start)
{
	const struct config_profile *p = b->profile;
	char path[512], opts[256], tmpl[256];
	if (p->diskless != DISKLESS_NFS || has_root(out->p ? out->p + start : "", out->len - start))
		return 0;
	if (diskless_root_path(b, path, sizeof(path)) < 0)
		return 0;
	const char *o = boot_var(b, "nfs-options", opts, sizeof(opts));
	snprintf(tmpl, sizeof(tmpl), "%sroot=/dev/nfs nfsroot=${nfs-root}%s ip=dhcp %s",
		 out->len > start ? " " : "", o && *o ? ",${nfs-options}" : "",
		 !p->shared_root ? "rw"
		 : b->node	 ? "ro pxed.rw=${nfs-rw}"
				 : "ro");
	return boot_expand_into(b, tmpl, out);
}

int render_cmdline(const struct boot_ctx *b, struct sbuf *out)
{
	if (!b->profile)
		return done(out);
	size_t start = out->len;
	if (b->profile->cmdline) {
		int rc = boot_expand_into(b, b->profile->cmdline, out);
		if (rc < 0)
			return rc;
	}
	int rc = nfs_root_params(b, out, start);
	return rc < 0 ? rc : done(out);
}

/* Each initrd path of the profile, in order; fn(ctx, path). */
static void each_profile_initrd(const struct boot_ctx *b, void (*fn)(void *, const char *),
				void *ctx)
{
	const char *p = b->profile->initrd;
	while (p && *p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (!n)
			break;
		char path[512];
		snprintf(path, sizeof(path), "%.*s", (int)n, p);
		fn(ctx, path);
		p += n;
	}
}

/* The profile's initrds, then for diskless = ram the image and (known nodes) the overlay URL:
 * the kernel unpacks several initrds in order, later files overriding earlier ones. */
static void each_initrd(const struct boot_ctx *b, void (*fn)(void *, const char *), void *ctx)
{
	char url[640];
	each_profile_initrd(b, fn, ctx);
	if (b->profile->diskless != DISKLESS_RAM)
		return;
	if (boot_var(b, "image-url", url, sizeof(url)))
		fn(ctx, url);
	if (boot_var(b, "overlay-url", url, sizeof(url)))
		fn(ctx, url);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

struct rctx {
	const struct boot_ctx *b;
	struct sbuf *out;
};

static void ipxe_initrd_arg(void *c, const char *path)
{
	struct rctx *r = c;
	sbuf_printf(r->out, " initrd=%s", base_name(path));
}

static void ipxe_initrd_line(void *c, const char *path)
{
	struct rctx *r = c;
	char url[640];
	boot_url(r->b, path, url, sizeof(url));
	sbuf_printf(r->out, "initrd %s\n", url);
}

static void header(const struct boot_ctx *b, struct sbuf *out, const char *comment)
{
	sbuf_printf(out, "%s pxed: %s (%s)\n", comment,
		    b->node	    ? b->node->name
		    : b->mac_str[0] ? b->mac_str
				    : "unknown machine",
		    b->why);
}

int render_ipxe(const struct boot_ctx *b, struct sbuf *out)
{
	if (b->action == BOOT_REFUSE)
		return -ENOENT;
	sbuf_puts(out, "#!ipxe\n");
	header(b, out, "#");
	if (b->action == BOOT_LOCAL) {
		sbuf_puts(out, "echo pxed: booting from the local disk\nexit\n");
		return done(out);
	}
	struct rctx r = {b, out};
	char url[640];
	boot_url(b, b->profile->kernel, url, sizeof(url));
	sbuf_printf(out, "echo pxed: booting %s\nkernel %s", b->profile->name, url);
	each_initrd(b, ipxe_initrd_arg, &r);
	if (b->profile->cmdline || b->profile->diskless == DISKLESS_NFS) {
		sbuf_puts(out, " ");
		int rc = render_cmdline(b, out);
		if (rc < 0)
			return rc;
	}
	sbuf_puts(out, "\n");
	each_initrd(b, ipxe_initrd_line, &r);
	sbuf_puts(out, "boot\n");
	return done(out);
}

static void pxl_initrd(void *c, const char *path)
{
	struct rctx *r = c;
	sbuf_printf(r->out, "%s%s", r->out->p[r->out->len - 1] == ' ' ? "" : ",", path);
}

int render_pxelinux(const struct boot_ctx *b, struct sbuf *out)
{
	if (b->action == BOOT_REFUSE)
		return -ENOENT;
	header(b, out, "#");
	if (b->action == BOOT_LOCAL) {
		sbuf_puts(out, "DEFAULT local\nPROMPT 0\nLABEL local\n  LOCALBOOT 0\n");
		return done(out);
	}
	struct rctx r = {b, out};
	sbuf_printf(out, "DEFAULT pxed\nPROMPT 0\nTIMEOUT 1\nLABEL pxed\n  KERNEL %s\n",
		    b->profile->kernel);
	if (b->profile->initrd || b->profile->diskless == DISKLESS_RAM) {
		sbuf_puts(out, "  INITRD ");
		each_initrd(b, pxl_initrd, &r);
		sbuf_puts(out, "\n");
	}
	sbuf_puts(out, "  APPEND ");
	int rc = render_cmdline(b, out);
	sbuf_puts(out, "\n");
	return rc < 0 ? rc : done(out);
}

/* GRUB's device syntax for the HTTP server: (http,SERVER) or (http,SERVER:PORT). */
static void grub_path(const struct boot_ctx *b, const char *path, char *out, size_t cap)
{
	if (strstr(path, "://")) { /* GRUB cannot take URLs: keep the path part */
		const char *p = strchr(strstr(path, "://") + 3, '/');
		path = p ? p : "/";
	}
	const char *hostport = strstr(b->http, "://") + 3;
	snprintf(out, cap, "(http,%s)/%s", hostport, path[0] == '/' ? path + 1 : path);
}

static void grub_initrd(void *c, const char *path)
{
	struct rctx *r = c;
	char p[700];
	grub_path(r->b, path, p, sizeof(p));
	sbuf_printf(r->out, " %s", p);
}

int render_grub(const struct boot_ctx *b, struct sbuf *out)
{
	if (b->action == BOOT_REFUSE)
		return -ENOENT;
	header(b, out, "#");
	if (b->action == BOOT_LOCAL) {
		sbuf_puts(out, "echo \"pxed: booting from the local disk\"\nexit\n");
		return done(out);
	}
	struct rctx r = {b, out};
	char k[700];
	grub_path(b, b->profile->kernel, k, sizeof(k));
	sbuf_printf(out, "set timeout=0\ninsmod http\nmenuentry \"pxed: %s\" {\n  linux %s ",
		    b->profile->name, k);
	int rc = render_cmdline(b, out);
	if (b->profile->initrd || b->profile->diskless == DISKLESS_RAM) {
		sbuf_puts(out, "\n  initrd");
		each_initrd(b, grub_initrd, &r);
	}
	sbuf_puts(out, "\n}\n");
	return rc < 0 ? rc : done(out);
}

int render_template(const struct boot_ctx *b, const char *tmpl, struct sbuf *out)
{
	if (b->action == BOOT_REFUSE)
		return -ENOENT;
	return boot_expand_into(b, tmpl, out);
}

void render_hexip(uint32_t ip, char out[9])
{
	snprintf(out, 9, "%08X", ip);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "01-aa-bb-cc-dd-ee-ff" (Ethernet hardware type 1). */
static bool parse_mac_name(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 20 || s[0] != '0' || s[1] != '1' || s[2] != '-')
		return false;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 + 3 * i;
		int hi = hexval(p[0]), lo = hexval(p[1]);
		if (hi < 0 || lo < 0 || (i < 5 && p[2] != '-'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_hex_name(const char *s, struct cfg_name *out)
{
	size_t n = strlen(s);
	uint32_t v = 0;
	if (n < 1 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	out->hexip = v << (4 * (8 - n));
	out->digits = (unsigned)n;
	return true;
}

static void classify(const char *name, struct cfg_name *out)
{
	if (parse_mac_name(name, out->mac))
		out->kind = CFG_MAC;
	else if (parse_hex_name(name, out))
		out->kind = CFG_HEXIP;
	else
		out->kind = CFG_OTHER;
}

int render_parse_cfg_name(const char *rel, struct cfg_name *out)
{
	memset(out, 0, sizeof(*out));
	const char *base = base_name(rel);
	size_t dlen = (size_t)(base - rel);
	if (dlen >= 13 && !strncmp(base - 13, "pxelinux.cfg/", 13) &&
	    (dlen == 13 || base[-14] == '/')) {
		if (!strcmp(base, "default"))
			out->kind = CFG_DEFAULT;
		else
			classify(base, out);
		return 0;
	}
	if (!strcmp(base, "grub.cfg")) {
		out->kind = CFG_DEFAULT;
		out->grub = true;
	} else if (!strncmp(base, "grub.cfg-", 9)) {
		out->grub = true;
		classify(base + 9, out);
	}
	return 0;
}
