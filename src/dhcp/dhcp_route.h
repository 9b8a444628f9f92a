/* Where a DHCP server reply goes: RFC 2131 §4.1, pure. */
#ifndef PXED_DHCP_ROUTE_H
#define PXED_DHCP_ROUTE_H

#include "dhcp/dhcp_policy.h"
#include "dhcp/dhcp_wire.h"

/**
 * Destination of a reply of type reply_type (0 for BOOTP) carrying yiaddr to request req:
 * - giaddr set: to the relay, giaddr at server_port (67); the relay delivers it;
 * - else ciaddr set (RENEWING, REBINDING, INFORM): unicast to ciaddr at client_port;
 * - else a NAK, or the broadcast bit set: broadcast to 255.255.255.255:client_port;
 * - else unicast to yiaddr at the client's hardware address (link layer; the client cannot
 *   answer ARP yet).
 * A NAK through a relay also gets the broadcast bit (RFC 2131 §4.3.2); the caller sets it in
 * the reply header when *set_bcast_flag becomes true.
 */
void dhcp_route(const struct dhcp_msg *req, uint8_t reply_type, uint32_t yiaddr,
		uint16_t client_port, uint16_t server_port, struct dhcp_dest *d,
		bool *set_bcast_flag);

#endif
