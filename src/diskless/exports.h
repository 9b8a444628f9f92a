/* NFS exports of diskless trees, generated from the inventory: exports(5) lines for the kernel
 * NFS server or EXPORT blocks for nfs-ganesha. Pure: configuration in, text out. */
#ifndef PXED_DISKLESS_EXPORTS_H
#define PXED_DISKLESS_EXPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct sbuf;

/**
 * The profile node boots (node.profile, else a [group] matched by its first MAC alone, else
 * boot.default-profile: inventory_resolve with an unknown architecture), or NULL.
 */
const struct config_profile *diskless_node_profile(const struct pxed_config *c,
						   const struct config_node *node);

/** True when some profile has diskless = nfs. */
bool diskless_any_nfs(const struct pxed_config *c);

/** Default exports file of the format (diskless.exports-file unset). */
const char *exports_default_file(enum exports_format f);
/** Default reload command of the format, or NULL for none. */
const char *exports_default_reload(enum exports_format f);

/**
 * Ganesha Export_Id of path: FNV-1a 32 of the path folded into 2..65535 (0 is the NFSv4
 * pseudo root, 1 is often the hand-written default export). Stable across regenerations;
 * exports_generate resolves collisions by probing upward in path order.
 */
uint16_t exports_id_of(const char *path);

/**
 * Append the exports text for c in its diskless.exports format to out: per-node trees of every
 * node whose profile is diskless = nfs, read-write with no_root_squash to the node's address
 * only; shared roots and the profiles' `mounts` directories (read-only unless a mount says rw)
 * to diskless.export-network, else to the [subnet] networks holding such nodes, else to the
 * node addresses. Returns 0; -EINVAL with err (cap bytes) naming the first node without a
 * fixed ip; -ENOMEM.
 */
int exports_generate(const struct pxed_config *c, struct sbuf *out, char *err, size_t cap);

/**
 * Call fn(ctx, path) for each exported path of an exports text in format f: the first word of
 * every exports(5) line (continuation lines joined), or the Path = "..." of every EXPORT block.
 * Pure. Returns the number of paths.
 */
int exports_parse_paths(const char *text, enum exports_format f,
			void (*fn)(void *ctx, const char *path), void *ctx);

#endif
