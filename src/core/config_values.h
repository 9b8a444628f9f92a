/* Parsers for configuration values that are more than a number or a word: address lists,
 * MACs, ranges, classless routes, DHCP options, host names. Pure; each returns 0 or -EINVAL
 * with a static explanation in *why. */
#ifndef PXED_CORE_CONFIG_VALUES_H
#define PXED_CORE_CONFIG_VALUES_H

#include <stdbool.h>

#include "core/config.h"

/** One dotted-quad address. */
int cv_parse_ip(const char *s, struct in_addr *out, const char **why);
/** Addresses separated by commas and/or blanks, appended to l (at most CONFIG_MAX_ADDRS). */
int cv_parse_iplist(const char *s, struct config_addr_list *l, const char **why);
/** "52:54:00:12:34:56" or "52-54-00-12-34-56", case-insensitive. */
int cv_parse_mac(const char *s, uint8_t mac[6], const char **why);
/** "198.18.0.100 198.18.0.200" or "198.18.0.100-198.18.0.200". */
int cv_parse_range(const char *s, struct config_range *r, const char **why);
/** "198.18.5.0/24 198.18.0.1" (destination network, gateway). */
int cv_parse_route(const char *s, struct config_route *r, const char **why);
/**
 * "CODE TYPE VALUE": CODE 1..254; TYPE one of ip (list of addresses), text, u8, u16, u32,
 * bool (yes/no), hex (bytes as "01:02:ff" or "0102ff"). Text may be quoted with "".
 * Codes pxed sets itself (0, 50-55, 57-59, 61, 82, 255, ...) are refused.
 */
int cv_parse_option(const char *s, struct config_dhcp_option *o, const char **why);
/** RFC 1123 host name or domain: labels of [A-Za-z0-9-], 1..63 long, not starting or ending
 * in '-', total <= 253. */
bool cv_valid_hostname(const char *s);

#endif
