/*
 * nfsroot-mount: mount(2) an NFS export with the kernel's text options, for the e2e node's
 * initramfs (tests/e2e/node-nfsroot). busybox's `mount -t nfs` speaks the old binary mount
 * data (NFSv2/v3 only, its own portmapper and MOUNT calls) and sends every nfs* type there,
 * so it cannot mount NFSv4; the kernel itself can do both from text options (it asks rpcbind
 * and mountd for v3 unless port=/mountport= are given; v4 needs only port 2049).
 * Built static by tests/e2e/nfslib.sh (nfs_node_image):
 *
 *   nfsroot-mount [-r] SERVER:/PATH TARGET OPTIONS
 *
 * OPTIONS as in nfs(5), e.g. "nolock,addr=198.18.0.1,vers=4.1" or
 * "nolock,addr=198.18.0.1,vers=3,proto=tcp,mountproto=tcp"; -r mounts read-only.
 * Exit 0 when mounted; otherwise prints "nfsroot-mount: <strerror>" and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
	unsigned long flags = 0;
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "-r") == 0) {
		flags |= MS_RDONLY;
		i++;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: nfsroot-mount [-r] SERVER:/PATH TARGET OPTIONS\n");
		return 2;
	}
	if (mount(argv[i], argv[i + 1], "nfs", flags, argv[i + 2]) != 0) {
		fprintf(stderr, "nfsroot-mount: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
