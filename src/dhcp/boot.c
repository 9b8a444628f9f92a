/* Boot decision; see boot.h. */
#include "dhcp/boot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "dhcp/pxe_opts.h"

/* Copy src into dst (cap bytes), truncated, always NUL-terminated. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

static const struct boot_vars *vars_self(const void *ctx)
{
	return ctx;
}

/* boot_expand with the values asked of src only when tmpl uses a variable. */
static int expand_src(const char *tmpl, const struct boot_vars_src *src, char *out, size_t cap)
{
	if (!strstr(tmpl, "${")) { /* the common case: nothing to expand */
		size_t n = strlen(tmpl);
		if (n + 1 > cap)
			return -ENAMETOOLONG;
		memcpy(out, tmpl, n + 1);
		return 0;
	}
	return boot_expand(tmpl, src->fill(src->ctx), out, cap);
}

int boot_expand(const char *tmpl, const struct boot_vars *v, char *out, size_t cap)
{
	static const char *names[] = {"server", "ip", "mac", "name", "hostname"};
	const char *vals[] = {v->server, v->ip, v->mac, v->name, v->hostname};
	size_t o = 0;
	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 0;
		if (p[0] == '$' && p[1] == '{') {
			for (size_t i = 0; i < 5; i++) {
				size_t n = strlen(names[i]);
				if (!strncmp(p + 2, names[i], n) && p[2 + n] == '}') {
					val = vals[i] ? vals[i] : "";
					skip = n + 3;
				}
			}
		}
		size_t len = val ? strlen(val) : 1;
		if (o + len + 1 > cap)
			return -ENAMETOOLONG;
		memcpy(out + o, val ? val : p, len);
		o += len;
		p += val ? skip : 1;
	}
	out[o] = 0;
	return 0;
}

bool boot_is_ipxe_binary(const char *file)
{
	static const char *marks[] = {"undionly.kpxe", "ipxe.efi", "snponly.efi", ".kpxe",
				      ".kkpxe",	       "ipxe.pxe", "ipxe.lkrn"};
	size_t n = strlen(file);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t m = strlen(marks[i]);
		if (n >= m && !strcmp(file + n - m, marks[i]))
			return true;
	}
	return false;
}

/* The first non-NULL of node/subnet/global. */
static const char *pick(const char *a, const char *b, const char *c, const char **from,
			const char *fa, const char *fb, const char *fc)
{
	*from = a ? fa : b ? fb : fc;
	return a ? a : b ? b : c;
}

/* Architecture: node override, then 93, then 60, then BIOS. */
static void choose_arch(const struct config_node *node, const struct pxe_client *pc,
			struct boot_choice *out)
{
	const struct pxe_arch *a = node && node->arch ? pxe_arch_by_name(node->arch) : NULL;
	if (a) {
		out->arch = a->code;
		out->arch_src = "node";
	} else if (pc->arch_src != PXE_ARCH_SRC_NONE) {
		out->arch = pc->arch;
		out->arch_src = pc->arch_src == PXE_ARCH_SRC_93 ? "93" : "60";
	} else {
		out->arch = PXE_ARCH_BIOS;
		out->arch_src = "default";
	}
	out->arch_name = pxe_arch_name(out->arch);
}

static enum boot_stage choose_stage(const struct pxe_client *pc, uint16_t arch)
{
	const struct pxe_arch *a = pxe_arch_lookup(arch);
	if (pc->is_ipxe)
		return BOOT_STAGE_IPXE;
	if (pc->vc.kind == PXE_VC_HTTP || (a && a->http))
		return BOOT_STAGE_HTTP;
	if (pc->vc.kind == PXE_VC_PXE || pc->arch_src == PXE_ARCH_SRC_93)
		return BOOT_STAGE_PXE;
	return BOOT_STAGE_NONE;
}

/* The configured file for a firmware architecture and stage (subnet wins over [dhcp]). */
static const char *arch_file(const struct config_boot *s, const struct config_boot *g,
			     uint16_t arch, enum boot_stage stage, const char **from)
{
	static const struct config_boot none;
	if (!s)
		s = &none;
	switch (arch) {
	case PXE_ARCH_UEFI_X64:
	case PXE_ARCH_UEFI_EBC:
		return pick(NULL, s->uefi_x64, g->uefi_x64, from, "", "subnet boot-uefi-x64",
			    "boot-uefi-x64");
	case PXE_ARCH_UEFI_IA32:
		return pick(NULL, s->uefi_ia32, g->uefi_ia32, from, "", "subnet boot-uefi-ia32",
			    "boot-uefi-ia32");
	case PXE_ARCH_UEFI_ARM64:
		return pick(NULL, s->uefi_arm64, g->uefi_arm64, from, "", "subnet boot-uefi-arm64",
			    "boot-uefi-arm64");
	case PXE_ARCH_UEFI_X64_HTTP:
		return pick(NULL, s->http_x64, g->http_x64, from, "", "subnet boot-http-x64",
			    "boot-http-x64");
	case PXE_ARCH_UEFI_ARM64_HTTP:
		return pick(NULL, s->http_arm64, g->http_arm64, from, "", "subnet boot-http-arm64",
			    "boot-http-arm64");
	default:
		(void)stage;
		return pick(NULL, s->bios, g->bios, from, "", "subnet boot-bios", "boot-bios");
	}
}

int boot_choose(const struct pxed_config *cfg, const struct config_subnet *sn,
		const struct config_node *node, const struct pxe_client *pc,
		const struct boot_vars *vars, struct boot_choice *out)
{
	struct boot_vars_src src = {vars_self, vars};
	return boot_choose_lazy(cfg, sn, node, pc, &src, out);
}

int boot_choose_lazy(const struct pxed_config *cfg, const struct config_subnet *sn,
		     const struct config_node *node, const struct pxe_client *pc,
		     const struct boot_vars_src *src, struct boot_choice *out)
{
	memset(out, 0, sizeof(*out));
	choose_arch(node, pc, out);
	out->stage = choose_stage(pc, out->arch);
	const struct config_boot *sb = sn ? &sn->boot : NULL;
	const char *from = NULL, *file = NULL;
	if (out->stage == BOOT_STAGE_IPXE) {
		file = pick(node ? node->ipxe_file : NULL, sb ? sb->ipxe : NULL,
			    cfg->dhcp.boot.ipxe, &from, "node boot-ipxe", "subnet boot-ipxe",
			    "boot-ipxe");
		if (!file) {
			file = node && node->boot_file ? node->boot_file
						       : arch_file(sb, &cfg->dhcp.boot, out->arch,
								   out->stage, &from);
			if (node && node->boot_file)
				from = "node boot-file";
			if (file && boot_is_ipxe_binary(file)) {
				snprintf(out->reason, sizeof(out->reason),
					 "iPXE client, no boot-ipxe: not chainloading %s again",
					 file);
				return 0;
			}
		}
	} else if (node && node->boot_file) {
		file = node->boot_file;
		from = "node boot-file";
	} else {
		file = arch_file(sb, &cfg->dhcp.boot, out->arch, out->stage, &from);
	}
	if (!file) {
		/* hot (every ordinary client when no boot file is set): no printf */
		copy_str(out->reason, sizeof(out->reason), "no boot file configured for ");
		size_t n = strlen(out->reason);
		copy_str(out->reason + n, sizeof(out->reason) - n, out->arch_name);
		return 0;
	}
	if (expand_src(file, src, out->file, sizeof(out->file)) < 0) {
		copy_str(out->reason, sizeof(out->reason), "boot file too long after expansion");
		return 0;
	}
	out->has_file = true;
	copy_str(out->reason, sizeof(out->reason), from);
	return 0;
}

/* The first-stage loader a profile implies for a firmware architecture. */
static const char *derived_file(const struct pxed_config *cfg, const struct config_profile *p,
				const struct boot_choice *b, char *url, size_t cap)
{
	unsigned port = ntohs(cfg->http.listen.sin_port);
	char base[64];
	if (port == 80)
		snprintf(base, sizeof(base), "http://${server}");
	else
		snprintf(base, sizeof(base), "http://${server}:%u", port);
	const struct pxe_arch *a = pxe_arch_lookup(b->arch);
	bool uefi = a && a->fw == PXE_FW_UEFI;
	switch (b->stage) {
	case BOOT_STAGE_IPXE:
		if (!cfg->http.enabled)
			return NULL;
		snprintf(url, cap, "%s/boot/${mac}.ipxe", base);
		return url;
	case BOOT_STAGE_HTTP:
		if (!cfg->http.enabled)
			return NULL;
		snprintf(url, cap, "%s/ipxe.efi", base);
		return url;
	default: break;
	}
	switch (p->loader) {
	case LOADER_PXELINUX: return uefi ? "syslinux.efi" : "pxelinux.0";
	case LOADER_GRUB: return uefi ? "grubnetx64.efi" : "undionly.kpxe";
	default: return uefi ? "ipxe.efi" : "undionly.kpxe";
	}
}

void boot_from_profile(const struct pxed_config *cfg, const struct config_profile *profile,
		       const struct boot_vars *vars, struct boot_choice *out)
{
	/* iPXE refused its own binary again: the profile's script is the way on */
	bool refused_ipxe = strstr(out->reason, "not chainloading") != NULL;
	if (out->has_file || !profile || (refused_ipxe && !cfg->http.enabled))
		return;
	char url[128];
	const char *file = derived_file(cfg, profile, out, url, sizeof(url));
	if (!file || boot_expand(file, vars, out->file, sizeof(out->file)) < 0)
		return;
	out->has_file = true;
	snprintf(out->reason, sizeof(out->reason), "profile %.60s (loader %s)", profile->name,
		 profile->loader == LOADER_PXELINUX ? "pxelinux"
		 : profile->loader == LOADER_GRUB   ? "grub"
						    : "ipxe");
}

int boot_choose_profile(const struct pxed_config *cfg, const struct config_subnet *sn,
			const struct config_node *node, const struct config_profile *profile,
			const struct pxe_client *pc, const struct boot_vars *vars,
			struct boot_choice *out)
{
	boot_choose(cfg, sn, node, pc, vars, out);
	boot_from_profile(cfg, profile, vars, out);
	return 0;
}
