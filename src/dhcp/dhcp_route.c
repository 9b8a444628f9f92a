/* RFC 2131 §4.1 reply routing; see dhcp_route.h. */
#include "dhcp/dhcp_route.h"

#include <string.h>

void dhcp_route(const struct dhcp_msg *req, uint8_t reply_type, uint32_t yiaddr,
		uint16_t client_port, uint16_t server_port, struct dhcp_dest *d,
		bool *set_bcast_flag)
{
	const struct dhcp_hdr *h = &req->hdr;
	memset(d, 0, sizeof(*d));
	*set_bcast_flag = false;
	d->port = client_port;
	if (h->giaddr) {
		/* "If the 'giaddr' field is nonzero, the server sends any return messages to
		 * the 'DHCP server' port on the BOOTP relay agent" (§4.1). */
		d->ip = h->giaddr;
		d->port = server_port;
		*set_bcast_flag = reply_type == DHCP_NAK;
		return;
	}
	if (h->ciaddr && reply_type != DHCP_NAK) {
		d->ip = h->ciaddr;
		return;
	}
	if (reply_type == DHCP_NAK || (h->flags & DHCP_FLAG_BROADCAST) || !yiaddr) {
		/* "In all cases, when 'giaddr' is zero, the server broadcasts any DHCPNAK" */
		d->ip = 0xffffffffu;
		d->broadcast = true;
		return;
	}
	/* "... the server unicasts DHCPOFFER and DHCPACK messages to the client's hardware
	 * address and 'yiaddr' address" (§4.1). */
	d->ip = yiaddr;
	d->l2_unicast = true;
	d->hlen = h->hlen > 16 ? 16 : h->hlen;
	memcpy(d->chaddr, h->chaddr, d->hlen);
}
