/* A DHCP lease as the policy decides it and the store persists it. Plain data, no pointers,
 * so it can be copied, compared and written as is. */
#ifndef PXED_DHCP_LEASE_H
#define PXED_DHCP_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#define LEASE_CLIENT_ID_MAX 64
#define LEASE_HOSTNAME_MAX  64
#define LEASE_NODE_MAX	    64

enum lease_state {
	LEASE_OFFERED = 1,  /* reserved for a client between OFFER and REQUEST (never persisted) */
	LEASE_BOUND = 2,    /* ACKed: the client may use the address until `ends` */
	LEASE_RELEASED = 3, /* client sent RELEASE; address free, binding remembered for reuse */
	LEASE_EXPIRED = 4,  /* ran out; address free, binding remembered for reuse */
	LEASE_DECLINED = 5, /* client sent DECLINE: address quarantined until `ends` */
};

struct dhcp_lease {
	uint32_t ip; /* host byte order; the primary key */
	enum lease_state state;
	uint8_t htype, hlen;
	uint8_t chaddr[16];
	uint8_t client_id_len; /* option 61, 0 = none */
	uint8_t client_id[LEASE_CLIENT_ID_MAX];
	int64_t starts, ends;		   /* wall-clock seconds (Unix time) */
	char hostname[LEASE_HOSTNAME_MAX]; /* option 12 from the client or the node */
	char node[LEASE_NODE_MAX];	   /* [node NAME] when known, else "" */
	uint16_t arch;			   /* option 93 / 60 architecture, 0xffff unknown */
};

#endif
