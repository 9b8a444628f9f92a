/* Dropping root after the privileged ports are bound. */
#ifndef PXED_CORE_PRIVDROP_H
#define PXED_CORE_PRIVDROP_H

/**
 * Switch to user (name or numeric uid) and its primary group, clearing supplementary groups,
 * and verify root cannot be regained. Returns 0 or -errno (after which the caller must exit).
 */
int privdrop(const char *user);

#endif
