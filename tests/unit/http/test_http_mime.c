/* Unit tests for src/http/http_mime.c: content types by extension. Names are placed right before
 * a guard page (without a NUL), so any read past the name crashes the test. */
#include "http/http_mime.h"
#include "test.h"

static const char *mime(const char *name)
{
	void *base;
	size_t map;
	const char *g = guard_copy(name, strlen(name), &base, &map);
	const char *t = http_mime_type(g, strlen(name));
	guard_free(base, map);
	return t;
}

static void test_boot_files(void)
{
	CHECK_STR(mime("boot.ipxe"), "text/plain");
	CHECK_STR(mime("pxelinux.cfg/default.cfg"), "text/plain");
	CHECK_STR(mime("grub/grub.cfg"), "text/plain");
	CHECK_STR(mime("ks/rocky9.ks"), "text/plain");
	CHECK_STR(mime("ipxe.efi"), "application/octet-stream");
	CHECK_STR(mime("undionly.kpxe"), "application/octet-stream");
	CHECK_STR(mime("pxelinux.0"), "application/octet-stream");
	CHECK_STR(mime("ldlinux.c32"), "application/octet-stream");
	CHECK_STR(mime("rocky9/vmlinuz"), "application/octet-stream");
	CHECK_STR(mime("rocky9/initrd.img"), "application/octet-stream");
	CHECK_STR(mime("diskless/root.squashfs"), "application/octet-stream");
	CHECK_STR(mime("initramfs.cpio.gz"), "application/octet-stream");
	CHECK_STR(mime("rootfs.tar.xz"), "application/octet-stream");
	CHECK_STR(mime("Rocky-9.4-x86_64-dvd.iso"), "application/x-iso9660-image");
}

static void test_documents(void)
{
	CHECK_STR(mime("index.html"), "text/html");
	CHECK_STR(mime("index.htm"), "text/html");
	CHECK_STR(mime("README.txt"), "text/plain");
	CHECK_STR(mime("status.json"), "application/json");
	CHECK_STR(mime("repodata/repomd.xml"), "application/xml");
	CHECK_STR(mime("user-data.yaml"), "text/plain");
}

static void test_case_and_edges(void)
{
	CHECK_STR(mime("BOOT.IPXE"), "text/plain");
	CHECK_STR(mime("Image.Iso"), "application/x-iso9660-image");
	CHECK_STR(mime("a.HtMl"), "text/html");
	CHECK_STR(mime(""), "application/octet-stream");
	CHECK_STR(mime("."), "application/octet-stream");
	CHECK_STR(mime(".ipxe"), "application/octet-stream"); /* hidden file, no extension */
	CHECK_STR(mime("dir/.ipxe"), "application/octet-stream");
	CHECK_STR(mime("dir/x.ipxe"), "text/plain");
	CHECK_STR(mime("file."), "application/octet-stream");
	CHECK_STR(mime("a.ipxe/kernel"), "application/octet-stream"); /* extension of a dir */
	CHECK_STR(mime("a.ipxe/"), "application/octet-stream");
	CHECK_STR(mime("x.ipxex"), "application/octet-stream");
	CHECK_STR(mime("x.ipx"), "application/octet-stream");
	CHECK_STR(mime("x.txt.bak"), "application/octet-stream");
	CHECK_STR(mime("x.json.txt"), "text/plain");
	CHECK_STR(mime("x.unknownextension"), "application/octet-stream");
	CHECK_STR(mime("x.\xc3\xa9"), "application/octet-stream");
	/* Only len bytes count: "boot.ipxe" cut to "boot.ip". */
	CHECK_STR(http_mime_type("boot.ipxe", 7), "application/octet-stream");
	CHECK_STR(http_mime_type("boot.ipxe\0.html", 9), "text/plain");
}

int main(void)
{
	RUN(test_boot_files);
	RUN(test_documents);
	RUN(test_case_and_edges);
	return test_summary();
}
