/* Admin subcommands that talk to the daemon or only read: pxed status, pxed node, pxed
 * render. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_service.h"
#include "boot/inventory.h"
#include "boot/render.h"
#include "boot/sbuf.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/config_values.h"
#include "core/control.h"
#include "dhcp/boot.h"
#include "dhcp/pxe_opts.h"
#include "store/store.h"

/* Load the configuration from -c/-o arguments; prints errors. */
static struct pxed_config *load_cfg(int argc, char **argv, struct cli_config_args *a)
{
	if (cli_parse_config_args(argc, argv, a, NULL) < 0)
		return NULL;
	struct config_errors errs = {0};
	struct pxed_config *cfg = config_load(a->file, a->overrides, a->n, false, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_clear(&errs);
	return cfg;
}

/* Split argv into positional words (before options) and the -c/-o rest. */
static int positional(int argc, char **argv, const char **words, int max)
{
	int n = 0;
	while (n < argc && n < max && argv[n][0] != '-')
		words[n] = argv[n], n++;
	return n;
}

/* pxed status [NODE]: from the running daemon, else read-only from the store. */
int cmd_status(int argc, char **argv)
{
	const char *w[1] = {NULL};
	int np = positional(argc, argv, w, 1);
	struct cli_config_args a;
	struct pxed_config *cfg = load_cfg(argc - np, argv + np, &a);
	if (!cfg)
		return 2;
	char req[200], ans[65536];
	snprintf(req, sizeof(req), "status%s%s", w[0] ? " " : "", w[0] ? w[0] : "");
	int rc = control_request(cfg->server.state_dir, req, ans, sizeof(ans));
	if (rc == 0) {
		fputs(ans, stdout);
		rc = strncmp(ans, "error", 5) ? 0 : 1;
		goto out;
	}
	struct store *st = NULL;
	char err[512];
	if (store_open_readonly(cfg->server.state_dir, &st, err, sizeof(err)) < 0)
		fprintf(stderr, "pxed: daemon not running and no store: %s\n", err);
	struct boot_service *svc = boot_service_new(cfg, st, NULL);
	struct sbuf out;
	sbuf_init(&out);
	rc = boot_service_status(svc, w[0], &out);
	if (rc == -ENOENT)
		fprintf(stderr, "pxed: no [node %s] in the configuration\n", w[0]);
	else
		fputs(out.p ? out.p : "", stdout);
	rc = rc < 0;
	sbuf_free(&out);
	boot_service_free(svc);
	store_close(st);
out:
	config_unref(cfg);
	free(a.overrides);
	return rc;
}

/* pxed node NAME reinstall|cancel: through the running daemon. */
int cmd_node(int argc, char **argv)
{
	const char *w[2] = {NULL, NULL};
	int np = positional(argc, argv, w, 2);
	if (np < 2 || (strcmp(w[1], "reinstall") && strcmp(w[1], "cancel"))) {
		fprintf(stderr, "usage: pxed node NAME reinstall|cancel [-c FILE] [-o ...]\n");
		return 2;
	}
	struct cli_config_args a;
	struct pxed_config *cfg = load_cfg(argc - np, argv + np, &a);
	if (!cfg)
		return 2;
	char req[200], ans[4096];
	snprintf(req, sizeof(req), "%s %s", w[1], w[0]);
	int rc = control_request(cfg->server.state_dir, req, ans, sizeof(ans));
	if (rc < 0)
		fprintf(stderr, "pxed: cannot reach the daemon at %s/pxed.sock: %s\n",
			cfg->server.state_dir, strerror(-rc));
	else
		fputs(ans, stdout);
	config_unref(cfg);
	free(a.overrides);
	return rc < 0 ? 1 : strncmp(ans, "ok", 2) != 0;
}

struct stage_desc {
	const char *name;
	uint16_t arch;
	enum pxe_vc_kind vc;
	bool ipxe;
};

static const struct stage_desc stages[] = {
	{"bios", PXE_ARCH_BIOS, PXE_VC_PXE, false},
	{"uefi-x64", PXE_ARCH_UEFI_X64, PXE_VC_PXE, false},
	{"arm64", PXE_ARCH_UEFI_ARM64, PXE_VC_PXE, false},
	{"http", PXE_ARCH_UEFI_X64_HTTP, PXE_VC_HTTP, false},
	{"ipxe", PXE_ARCH_BIOS, PXE_VC_PXE, true},
};

/* The DHCP answer for one stage. */
static void render_dhcp(const struct pxed_config *cfg, const struct boot_ctx *b,
			const struct stage_desc *sd)
{
	struct pxe_client pc;
	memset(&pc, 0, sizeof(pc));
	pc.vc.kind = sd->vc;
	pc.arch_src = PXE_ARCH_SRC_93;
	pc.arch = sd->arch;
	pc.is_ipxe = sd->ipxe;
	struct in_addr ip = {0};
	inet_pton(AF_INET, b->ip[0] ? b->ip : "0.0.0.0", &ip);
	const struct config_subnet *sn = config_subnet_for(cfg, ip);
	struct boot_vars v = {b->server, b->ip, b->mac_str, b->node ? b->node->name : "",
			      b->node && b->node->hostname ? b->node->hostname : ""};
	struct boot_choice ch;
	boot_choose_profile(cfg, sn, b->node, b->action == BOOT_REFUSE ? NULL : b->profile, &pc, &v,
			    &ch);
	printf("== DHCP (%s%s): ip %s, next-server %s, file %s\n   rule: %s\n", sd->name,
	       sd->ipxe ? " second stage" : "", b->ip[0] ? b->ip : "(dynamic)", b->server,
	       ch.has_file ? ch.file : "(none)", ch.reason);
}

static void show(const char *title, int rc, struct sbuf *s)
{
	printf("== %s\n", title);
	if (rc == -ENOENT)
		printf("(not rendered: file not found, the loader falls through)\n");
	else if (rc < 0)
		printf("(error: %s)\n", strerror(-rc));
	else
		fputs(s->p ? s->p : "", stdout);
	sbuf_free(s);
}

/* pxed render NODE [--arch bios|uefi-x64|arm64|ipxe|http] [--server ADDR] [--reinstall] */
int cmd_render(int argc, char **argv)
{
	const char *w[1] = {NULL}, *arch = NULL, *server = "SERVER";
	int np = positional(argc, argv, w, 1);
	bool reinstall = false;
	int rest = np;
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	int na = 0;
	for (int i = np; i < argc; i++) {
		if (!strcmp(argv[i], "--arch") && i + 1 < argc)
			arch = argv[++i];
		else if (!strcmp(argv[i], "--server") && i + 1 < argc)
			server = argv[++i];
		else if (!strcmp(argv[i], "--reinstall"))
			reinstall = true;
		else
			args[na++] = argv[i];
	}
	(void)rest;
	if (!w[0]) {
		fprintf(stderr,
			"usage: pxed render NODE|MAC [--arch bios|uefi-x64|arm64|ipxe|http] "
			"[--server ADDR] [--reinstall] [-c FILE] [-o ...]\n");
		free(args);
		return 2;
	}
	struct cli_config_args a;
	struct pxed_config *cfg = load_cfg(na, args, &a);
	free(args);
	if (!cfg)
		return 2;
	uint8_t mac[6];
	const char *why;
	const struct config_node *n = config_node_by_name(cfg, w[0]);
	bool by_mac = !n && cv_parse_mac(w[0], mac, &why) == 0;
	if (!n && !by_mac) {
		fprintf(stderr, "pxed: no [node %s] (give a node name or a MAC)\n", w[0]);
		config_unref(cfg);
		free(a.overrides);
		return 1;
	}
	struct boot_facts f = {.mac = n ? (n->nmacs ? n->macs[0] : NULL) : mac,
			       .server = server,
			       .arch = 0xffff,
			       .reinstall = reinstall,
			       .ks_token = "TOKEN"};
	struct boot_ctx b;
	inventory_resolve(cfg, &f, &b);
	printf("machine %s (%s), profile %s\n   rule: %s\n", b.node ? b.node->name : "(unknown)",
	       b.mac_str, b.profile ? b.profile->name : "-", b.why);
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (!arch || !strcmp(arch, stages[i].name))
			render_dhcp(cfg, &b, &stages[i]);
	struct sbuf s;
	char title[160];
	sbuf_init(&s);
	snprintf(title, sizeof(title), "HTTP /boot/%s.ipxe (iPXE script)", b.mac_str);
	show(title, render_ipxe(&b, &s), &s);
	sbuf_init(&s);
	snprintf(title, sizeof(title), "TFTP pxelinux.cfg/01-%s", b.mac_str);
	for (char *c = title + 22; *c; c++)
		*c = *c == ':' ? '-' : *c;
	show(title, render_pxelinux(&b, &s), &s);
	sbuf_init(&s);
	show("TFTP grub.cfg-01-... (GRUB)", render_grub(&b, &s), &s);
	if (b.profile && b.profile->kickstart) {
		char *t = boot_read_template(cfg, b.profile->kickstart);
		sbuf_init(&s);
		snprintf(title, sizeof(title), "HTTP /ks/%s (template %s)",
			 b.node ? b.node->name : "-", b.profile->kickstart);
		show(title, t ? render_template(&b, t, &s) : -errno, &s);
		free(t);
	}
	config_unref(cfg);
	free(a.overrides);
	return 0;
}
