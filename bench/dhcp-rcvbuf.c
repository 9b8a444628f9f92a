/* dhcp-rcvbuf.c - LD_PRELOAD shim for the load generator of bench/dhcp.sh.
 *
 *   cc -O2 -shared -fPIC -o dhcp-rcvbuf.so bench/dhcp-rcvbuf.c -ldl
 *   PXED_BENCH_RCVBUF=8388608 LD_PRELOAD=./dhcp-rcvbuf.so perfdhcp ...
 *
 * perfdhcp keeps the kernel's default receive buffer (net.core.rmem_default, 208 KiB), which a
 * server that answers in bursts (pxed sends a batch's replies after one commit) overflows while
 * perfdhcp, single-threaded on one CPU, is busy sending. This shim gives every IPv4 UDP socket
 * the process opens a receive buffer of PXED_BENCH_RCVBUF bytes (SO_RCVBUFFORCE: needs
 * CAP_NET_ADMIN, falls back to SO_RCVBUF), so the load generator, not the host's sysctl, is
 * changed. The datagrams each side still drops are counted by bench/dhcp.sh (RcvbufErrors). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);
	if (!real_socket)
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	if (!real_socket)
		return -1;
	int fd = real_socket(domain, type, protocol);
	const char *v = getenv("PXED_BENCH_RCVBUF");
	if (fd >= 0 && domain == AF_INET && (type & 0xff) == SOCK_DGRAM && v) {
		int size = atoi(v);
		if (size > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	return fd;
}
