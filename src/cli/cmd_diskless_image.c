/* pxed diskless image|overlay ...: RAM-root images and per-node overlays (docs/diskless-ram.md).
 *   pxed diskless image build PROFILE|--all [--force] [-c FILE] [-o ...]
 *   pxed diskless image list [-c FILE] [-o ...]
 *   pxed diskless overlay NODE [--out FILE] [-c FILE] [-o ...] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot_service.h"
#include "boot/inventory.h"
#include "cli/cli.h"
#include "core/config.h"
#include "diskless/image.h"
#include "diskless/overlay.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: pxed diskless image build PROFILE|--all [--force] [-c FILE] [-o ...]\n"
		"       pxed diskless image list [-c FILE] [-o ...]\n"
		"       pxed diskless overlay NODE [--out FILE] [-c FILE] [-o ...]\n");
}

/* Take our flags out of argv (the -c/-o rest stays for cli_parse_config_args). */
struct img_flags {
	bool all, force;
	const char *out;
	const char *word; /* PROFILE or NODE */
};

static int take_flags(int argc, char **argv, struct img_flags *f)
{
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all")) {
			f->all = true;
		} else if (!strcmp(argv[i], "--force")) {
			f->force = true;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			f->out = argv[++i];
		} else if (argv[i][0] != '-' && !f->word) {
			f->word = argv[i];
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

static struct pxed_config *load(int argc, char **argv, struct cli_config_args *a)
{
	struct config_errors errs = {0};
	if (cli_parse_config_args(argc, argv, a, NULL) < 0)
		return NULL;
	struct pxed_config *cfg = config_load(a->file, a->overrides, a->n, false, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_clear(&errs);
	return cfg;
}

/* Running as root: give path to the owner of the state directory (the daemon's user), so
 * that the daemon can read keys and replace images the command made. */
static void give_to_state_owner(const struct pxed_config *cfg, const char *path)
{
	struct stat st;
	if (geteuid() != 0 || stat(cfg->server.state_dir, &st) < 0 || st.st_uid == 0)
		return;
	if (chown(path, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "pxed diskless: chown %s: %s\n", path, strerror(errno));
}

static int build_one(const struct pxed_config *cfg, const struct config_profile *p, bool force)
{
	struct image_spec spec = {.squashfs = p->squashfs, .force = force};
	struct image_result r;
	snprintf(spec.profile, sizeof(spec.profile), "%s", p->name);
	snprintf(spec.template_path, sizeof(spec.template_path), "%s",
		 p->template ? p->template : "");
	image_dir(cfg->diskless.images, cfg->server.state_dir, spec.images_dir,
		  sizeof(spec.images_dir));
	bool had_dir = access(spec.images_dir, F_OK) == 0;
	int rc = image_ensure(&spec, &r);
	if (rc < 0) {
		fprintf(stderr, "pxed diskless image: %s: %s\n", p->name, r.err);
		return 1;
	}
	if (!had_dir)
		give_to_state_owner(cfg, spec.images_dir);
	if (r.built) {
		give_to_state_owner(cfg, r.cpio);
		if (r.squashfs[0])
			give_to_state_owner(cfg, r.squashfs);
	}
	printf("%s: %s %s (key %.16s%s%s)\n", p->name, r.built ? "built" : "current", r.cpio, r.key,
	       r.init_added ? ", /init -> /sbin/init added" : "", r.built ? "" : ", unchanged");
	if (r.squashfs[0])
		printf("%s: %s %s\n", p->name, r.built ? "built" : "current", r.squashfs);
	if (r.skipped)
		fprintf(stderr, "pxed diskless image: %s: %zu unsafe entries skipped (first: %s)\n",
			p->name, r.skipped, r.first_skipped);
	return 0;
}

static int image_build(const struct pxed_config *cfg, const struct img_flags *f)
{
	int rc = 0, n = 0;
	if (!f->all && !f->word) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct config_profile *p = &cfg->profiles[i];
		if (!f->all && strcmp(p->name, f->word))
			continue;
		if (p->diskless != DISKLESS_RAM) {
			if (!f->all) {
				fprintf(stderr,
					"pxed diskless image: profile %s is not diskless = ram\n",
					p->name);
				return 1;
			}
			continue;
		}
		n++;
		rc |= build_one(cfg, p, f->force);
	}
	if (!f->all && !n) {
		fprintf(stderr, "pxed diskless image: no profile %s\n", f->word);
		return 1;
	}
	if (f->all && !n)
		printf("no profile with diskless = ram\n");
	return rc;
}

static int image_list_cmd(const struct pxed_config *cfg)
{
	char dir[4096];
	struct image_listing l[256];
	image_dir(cfg->diskless.images, cfg->server.state_dir, dir, sizeof(dir));
	int n = image_list(dir, l, 256);
	if (n < 0 && n != -ENOENT) {
		fprintf(stderr, "pxed diskless image: %s: %s\n", dir, strerror(-n));
		return 1;
	}
	printf("%-20s %-16s %12s %-19s %s\n", "PROFILE", "KEY", "SIZE", "BUILT", "FILE");
	for (int i = 0; i < n; i++) {
		char when[32];
		struct tm tm;
		time_t t = (time_t)l[i].mtime;
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		const struct config_profile *p = config_profile_by_name(cfg, l[i].profile);
		printf("%-20s %-16s %12llu %-19s %s/%s%s\n", l[i].profile, l[i].key16,
		       (unsigned long long)l[i].size, when, dir, l[i].file,
		       p && p->diskless == DISKLESS_RAM ? "" : " (no such ram profile)");
	}
	return 0;
}

static int overlay_cmd(const struct pxed_config *cfg, const struct img_flags *f)
{
	if (!f->word) {
		usage();
		return 2;
	}
	const struct config_node *n = config_node_by_name(cfg, f->word);
	if (!n) {
		fprintf(stderr, "pxed diskless overlay: no node %s\n", f->word);
		return 1;
	}
	char ip[INET_ADDRSTRLEN] = "", keys[4300], err[600] = "", key[65];
	if (n->ip.s_addr)
		inet_ntop(AF_INET, &n->ip, ip, sizeof(ip));
	struct boot_facts facts = {.mac = n->nmacs ? n->macs[0] : NULL,
				   .ip = ip[0] ? ip : NULL,
				   .server = cfg->boot.server ? cfg->boot.server : "",
				   .arch = 0xffff};
	struct boot_ctx b;
	inventory_resolve(cfg, &facts, &b);
	if (!b.profile || b.profile->diskless != DISKLESS_RAM) {
		fprintf(stderr,
			"pxed diskless overlay: node %s does not boot a diskless = ram profile\n",
			n->name);
		return 1;
	}
	boot_service_keys_dir(cfg, n->name, keys, sizeof(keys));
	bool had_keys = access(keys, F_OK) == 0;
	struct overlay o;
	uint8_t *bytes = NULL;
	size_t len = 0;
	overlay_init(&o);
	int rc = overlay_build(&o, &b, b.profile->overlay, keys, err, sizeof(err));
	if (rc == 0 && (rc = overlay_pack(&o, &bytes, &len, key)) < 0)
		snprintf(err, sizeof(err), "packing: %s", strerror(-rc));
	if (rc < 0) {
		fprintf(stderr, "pxed diskless overlay: %s: %s\n", n->name, err);
		overlay_free(&o);
		return 1;
	}
	if (!had_keys && access(keys, F_OK) == 0) {
		char p[4400];
		give_to_state_owner(cfg, keys);
		snprintf(p, sizeof(p), "%s/ssh_host_ed25519_key", keys);
		give_to_state_owner(cfg, p);
		snprintf(p, sizeof(p), "%s/ssh_host_ed25519_key.pub", keys);
		give_to_state_owner(cfg, p);
	}
	if (o.warn[0])
		fprintf(stderr, "pxed diskless overlay: %s: %s\n", n->name, o.warn);
	if (f->out) {
		FILE *fp = strcmp(f->out, "-") ? fopen(f->out, "wb") : stdout;
		if (!fp || fwrite(bytes, 1, len, fp) != len || (fp != stdout && fclose(fp) != 0)) {
			fprintf(stderr, "pxed diskless overlay: %s: %s\n", f->out, strerror(errno));
			rc = 1;
		} else if (fp != stdout) {
			printf("%s: wrote %s (%zu bytes, key %.16s)\n", n->name, f->out, len, key);
		}
	} else {
		printf("overlay of %s (%zu bytes, key %.16s):\n", n->name, len, key);
		for (size_t i = 0; i < o.n; i++) {
			const struct overlay_entry *e = &o.v[i];
			char kind = S_ISDIR(e->mode) ? 'd' : S_ISLNK(e->mode) ? 'l' : '-';
			printf("%c%04o %8zu /%s%s%s\n", kind, e->mode & 07777,
			       S_ISREG(e->mode) ? e->len : 0, e->path,
			       S_ISLNK(e->mode) ? " -> " : "", S_ISLNK(e->mode) ? e->data : "");
		}
	}
	free(bytes);
	overlay_free(&o);
	return rc < 0 ? 1 : rc;
}

int cmd_diskless_image(int argc, char **argv)
{
	struct img_flags f = {0};
	struct cli_config_args a = {0};
	bool overlay = argc > 0 && !strcmp(argv[0], "overlay");
	const char *verb = NULL;
	if (argc < 1 || (!overlay && strcmp(argv[0], "image"))) {
		usage();
		return 2;
	}
	argc--, argv++;
	if (!overlay) {
		if (argc < 1 || (strcmp(argv[0], "build") && strcmp(argv[0], "list"))) {
			usage();
			return 2;
		}
		verb = argv[0];
		argc--, argv++;
	}
	signal(SIGPIPE, SIG_IGN); /* sqfstar dying must give an error, not kill us */
	int n = take_flags(argc, argv, &f);
	struct pxed_config *cfg = load(n, argv, &a);
	if (!cfg) {
		free(a.overrides);
		return 2;
	}
	int rc = overlay		  ? overlay_cmd(cfg, &f)
		 : !strcmp(verb, "build") ? image_build(cfg, &f)
					  : image_list_cmd(cfg);
	config_unref(cfg);
	free(a.overrides);
	return rc;
}
