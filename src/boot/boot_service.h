/* The boot service: glue between the protocol adapters (TFTP, HTTP, DHCP), the inventory and
 * renderers, and the store (node state, boot events). Adapter-level code: it reads template
 * files, writes the store and logs. */
#ifndef PXED_BOOT_SERVICE_H
#define PXED_BOOT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pxed_config;
struct store;
struct dhcp_server;
struct tftp_server;
struct http_server;
struct sbuf;
struct boot_ctx;

struct boot_service;

/** New service. Borrows st (may be NULL: no node state or events), dhcp (may be NULL);
 * takes a reference to cfg. */
struct boot_service *boot_service_new(struct pxed_config *cfg, struct store *st,
				      struct dhcp_server *dhcp);
void boot_service_reload(struct boot_service *svc, struct pxed_config *cfg);
void boot_service_free(struct boot_service *svc);

/** Register the rendered pxelinux.cfg / grub.cfg names and the transfer observer. */
void boot_service_attach_tftp(struct boot_service *svc, struct tftp_server *tftp);
/** Register the HTTP routes (/boot/, /grub/, /ks/, /up/, /diskless/image/, /diskless/overlay/)
 * and start building the images of ram profiles in the background. */
void boot_service_attach_http(struct boot_service *svc, struct http_server *http);

/** Read a template file: absolute, else relative to boot.templates, else to the directory of
 * the configuration file. Returns a malloc'd NUL-terminated copy (at most 1 MiB) or NULL with
 * errno set. */
char *boot_read_template(const struct pxed_config *cfg, const char *name);

/** Set (or clear) a node's one-shot reinstall flag durably. 0, -ENOENT (no such node), or an
 * error from the store. */
int boot_service_set_reinstall(struct boot_service *svc, const char *node, bool on);

/** Directory of a node's generated ssh host key: <server.state-dir>/diskless/keys/<node>. */
void boot_service_keys_dir(const struct pxed_config *cfg, const char *node, char *out, size_t cap);

/** Append a status table (nodes, profile, last event) or one node's timeline to out. */
int boot_service_status(struct boot_service *svc, const char *node, struct sbuf *out);

/** Record an event for the machine at ip (host order) or known by mac (may be NULL). */
void boot_service_event(struct boot_service *svc, uint32_t ip, const uint8_t *mac, const char *kind,
			const char *detail);

#endif
