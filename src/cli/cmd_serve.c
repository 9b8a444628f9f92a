/* pxed serve: load the configuration, bind, drop privileges, run the event loop; SIGHUP
 * reloads atomically, SIGTERM/SIGINT exit cleanly. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/privdrop.h"
#include "boot/boot_service.h"
#include "boot/sbuf.h"
#include "core/control.h"
#include "dhcp/dhcp_io.h"
#include "http/http_io.h"
#include "store/store.h"
#include "tftp/tftp_io.h"

#include <pwd.h>

struct serve_state {
	struct event_base *base;
	struct cli_config_args args;
	struct pxed_config *cfg;
	struct tftp_server *tftp;
	struct http_server *http;
	struct store *store;
	struct dhcp_server *dhcp;
	struct boot_service *boot;
	struct control *control;
};

static void log_errors(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		log_err("config: %s", errs->msg[i]);
	if (errs->dropped)
		log_err("config: (%zu more errors)", errs->dropped);
}

static void apply_logging(const struct pxed_config *cfg)
{
	log_setup(cfg->server.log_level, true, cfg->server.log_syslog);
}

/* SIGHUP: build a new snapshot; swap it in only if it is valid. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct serve_state *st = arg;
	struct config_errors errs = {0};
	struct pxed_config *cfg =
		config_load(st->args.file, st->args.overrides, st->args.n, true, &errs);
	if (!cfg) {
		log_errors(&errs);
		log_err("config: reload refused; still serving the previous configuration");
		config_errors_clear(&errs);
		return;
	}
	if (st->tftp)
		tftp_server_reload(st->tftp, cfg);
	if (st->dhcp)
		dhcp_server_reload(st->dhcp, cfg);
	if (st->http)
		http_server_reload(st->http, cfg);
	if (st->boot)
		boot_service_reload(st->boot, cfg);
	if ((cfg->dhcp.mode != DHCP_MODE_OFF) != (st->dhcp != NULL) ||
	    cfg->tftp.enabled != (st->tftp != NULL) || cfg->http.enabled != (st->http != NULL))
		log_warn("config: enabling or disabling a service takes effect after a restart");
	config_unref(st->cfg);
	st->cfg = cfg;
	apply_logging(cfg);
	log_info("config: reloaded %s", cfg->source ? cfg->source : "(command line)");
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct serve_state *st = arg;
	log_info("pxed: signal %d, exiting", (int)sig);
	event_base_loopexit(st->base, NULL);
}

/* Give the state directory and its database to server.user, who writes it after the drop. */
static void chown_state(const struct pxed_config *cfg)
{
	struct passwd *pw = cfg->server.user ? getpwnam(cfg->server.user) : NULL;
	if (!pw)
		return;
	static const char *files[] = {"", "/pxed.db", "/pxed.db-wal", "/pxed.db-shm"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s%s", cfg->server.state_dir, files[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && i == 0)
			log_warn("pxed: cannot give %s to %s: %s", path, cfg->server.user,
				 strerror(errno));
	}
}

/* The store is needed for DHCP leases and for node state and boot timelines. */
static bool needs_store(const struct pxed_config *cfg)
{
	return cfg->dhcp.mode != DHCP_MODE_OFF || cfg->http.enabled || cfg->nprofiles ||
	       cfg->nnodes;
}

/* One control request: status [NODE] | reinstall NODE | cancel NODE. */
static int on_control(void *ctx, const char *line, struct sbuf *out)
{
	struct serve_state *st = ctx;
	char cmd[32] = "", arg[128] = "";
	if (sscanf(line, "%31s %127s", cmd, arg) < 1)
		return -EINVAL;
	if (!strcmp(cmd, "status"))
		return boot_service_status(st->boot, arg[0] ? arg : NULL, out);
	if ((!strcmp(cmd, "reinstall") || !strcmp(cmd, "cancel")) && arg[0]) {
		int rc = boot_service_set_reinstall(st->boot, arg, cmd[0] == 'r');
		if (rc == -ENOENT)
			sbuf_printf(out, "error: no [node %s] in the configuration\n", arg);
		else if (rc == 0)
			sbuf_printf(out, "ok: node %s %s\n", arg,
				    cmd[0] == 'r' ? "boots its installer once, then its local disk"
						  : "reinstall cancelled");
		return rc;
	}
	sbuf_printf(out, "error: unknown request \"%.40s\"\n", line);
	return -EINVAL;
}

/* Open the store; start DHCP, the boot service and the control socket. */
static int start_services(struct serve_state *st)
{
	char err[512];
	if (needs_store(st->cfg)) {
		if (store_open(st->cfg->server.state_dir, &st->store, err, sizeof(err)) < 0) {
			log_err("store: %s", err);
			return -1;
		}
		chown_state(st->cfg);
	}
	if (st->cfg->dhcp.mode != DHCP_MODE_OFF) {
		st->dhcp = dhcp_server_new(st->base, st->cfg, st->store);
		if (!st->dhcp)
			return -1;
	}
	st->boot = boot_service_new(st->cfg, st->store, st->dhcp);
	if (!st->boot)
		return -1;
	if (st->tftp)
		boot_service_attach_tftp(st->boot, st->tftp);
	if (st->http)
		boot_service_attach_http(st->boot, st->http);
	if (st->store) {
		st->control = control_new(st->base, st->cfg->server.state_dir, on_control, st);
		if (!st->control)
			return -1;
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_state st = {0};
	struct config_errors errs = {0};
	int rc = 1;
	if (cli_parse_config_args(argc, argv, &st.args, NULL) < 0)
		return 2;
	st.cfg = config_load(st.args.file, st.args.overrides, st.args.n, true, &errs);
	if (!st.cfg) {
		log_errors(&errs);
		config_errors_clear(&errs);
		goto out_args;
	}
	apply_logging(st.cfg);
	signal(SIGPIPE, SIG_IGN);
	st.base = event_base_new();
	if (!st.base)
		goto out_cfg;
	if (st.cfg->tftp.enabled) {
		st.tftp = tftp_server_new(st.base, st.cfg);
		if (!st.tftp)
			goto out_base;
	}
	if (st.cfg->http.enabled && !(st.http = http_server_new(st.base, st.cfg)))
		goto out_tftp;
	if (start_services(&st) < 0)
		goto out_tftp;
	if (st.cfg->server.user) {
		int e = privdrop(st.cfg->server.user);
		if (e < 0) {
			log_err("pxed: cannot drop privileges to \"%s\": %s", st.cfg->server.user,
				strerror(-e));
			goto out_tftp;
		}
		log_info("pxed: running as user %s", st.cfg->server.user);
	}
	struct event *hup = evsignal_new(st.base, SIGHUP, on_hup, &st);
	struct event *term = evsignal_new(st.base, SIGTERM, on_term, &st);
	struct event *intr = evsignal_new(st.base, SIGINT, on_term, &st);
	event_add(hup, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	log_info("pxed %s: ready", PXED_VERSION);
	rc = event_base_dispatch(st.base) < 0 ? 1 : 0;
	event_free(hup);
	event_free(term);
	event_free(intr);
out_tftp:
	/* the protocol servers first: their last log lines and callbacks use the rest */
	http_server_free(st.http);
	tftp_server_free(st.tftp);
	control_free(st.control);
	boot_service_free(st.boot);
	dhcp_server_free(st.dhcp);
	store_close(st.store);
out_base:
	event_base_free(st.base);
out_cfg:
	config_unref(st.cfg);
out_args:
	free(st.args.overrides);
	return rc;
}
