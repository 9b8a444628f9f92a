/* Unit tests of the pure parts of diskless/image.c: SHA-256, names, whiteouts, the merged tree
 * of layers, the /init rule, content keys, manifest JSON. */
#include <errno.h>

#include "diskless/image.h"
#include "test.h"

static void sha(const char *s, char hex[65])
{
	struct image_sha256 c;
	uint8_t d[32];
	image_sha256_init(&c);
	image_sha256_update(&c, s, strlen(s));
	image_sha256_final(&c, d);
	image_hex(d, 32, hex);
}

static void test_sha256(void)
{
	char h[65];
	sha("", h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha("abc", h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", h);
	CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* split updates give the same digest */
	struct image_sha256 c;
	uint8_t d[32];
	image_sha256_init(&c);
	image_sha256_update(&c, "abcdbcdecdefdefgefghfghighijhijk", 32);
	image_sha256_update(&c, "ijkljklmklmnlmnomnopnopq", 24);
	image_sha256_final(&c, d);
	image_hex(d, 32, h);
	CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_clean_name(void)
{
	char out[64];
	CHECK_EQ(image_clean_name("./etc//passwd/", out, sizeof(out)), 0);
	CHECK_STR(out, "etc/passwd");
	CHECK_EQ(image_clean_name("./", out, sizeof(out)), 0);
	CHECK_STR(out, "");
	CHECK_EQ(image_clean_name("a/./b", out, sizeof(out)), 0);
	CHECK_STR(out, "a/b");
	CHECK_EQ(image_clean_name("/etc/passwd", out, sizeof(out)), -EINVAL);
	CHECK_EQ(image_clean_name("a/../../x", out, sizeof(out)), -EACCES);
	CHECK_EQ(image_clean_name("..", out, sizeof(out)), -EACCES);
	CHECK_EQ(image_clean_name("a\nb", out, sizeof(out)), -EINVAL);
	CHECK_EQ(image_clean_name("..a/b..", out, sizeof(out)), 0);
	CHECK_STR(out, "..a/b..");
	CHECK_EQ(image_clean_name("abcdef", out, 4), -ENAMETOOLONG);
}

static void test_whiteout(void)
{
	char t[64];
	CHECK_EQ(image_whiteout("etc/.wh.motd", t, sizeof(t)), IMAGE_WH_DELETE);
	CHECK_STR(t, "etc/motd");
	CHECK_EQ(image_whiteout(".wh.opt", t, sizeof(t)), IMAGE_WH_DELETE);
	CHECK_STR(t, "opt");
	CHECK_EQ(image_whiteout("var/cache/.wh..wh..opq", t, sizeof(t)), IMAGE_WH_OPAQUE);
	CHECK_STR(t, "var/cache");
	CHECK_EQ(image_whiteout(".wh..wh..opq", t, sizeof(t)), IMAGE_WH_OPAQUE);
	CHECK_STR(t, "");
	CHECK_EQ(image_whiteout("etc/wh.motd", t, sizeof(t)), IMAGE_WH_NONE);
	CHECK_EQ(image_whiteout("etc/.wh.", t, sizeof(t)), IMAGE_WH_NONE);
}

static void put(struct image_tree *t, const char *path, enum image_type type, int layer,
		const char *target)
{
	struct image_node n = {.path = (char *)path,
			       .type = type,
			       .perm = type == IMAGE_DIR ? 0755 : 0644,
			       .layer = layer,
			       .target = (char *)target,
			       .off = -1};
	image_tree_put(t, &n);
}

static void test_layers(void)
{
	struct image_tree t;
	image_tree_init(&t);
	/* layer 1 */
	put(&t, "etc", IMAGE_DIR, 1, NULL);
	put(&t, "etc/motd", IMAGE_FILE, 1, NULL);
	put(&t, "etc/passwd", IMAGE_FILE, 1, NULL);
	put(&t, "var", IMAGE_DIR, 1, NULL);
	put(&t, "var/cache", IMAGE_DIR, 1, NULL);
	put(&t, "var/cache/a", IMAGE_FILE, 1, NULL);
	put(&t, "opt", IMAGE_DIR, 1, NULL);
	put(&t, "opt/x/y", IMAGE_FILE, 1, NULL);
	put(&t, "sbin", IMAGE_DIR, 1, NULL);
	put(&t, "sbin/init", IMAGE_FILE, 1, NULL);
	/* layer 2: whiteouts, an opaque dir, a file replacing a directory */
	image_tree_delete(&t, "etc/motd");
	image_tree_opaque(&t, "var/cache", 2);
	put(&t, "var/cache/b", IMAGE_FILE, 2, NULL);
	put(&t, "opt", IMAGE_FILE, 2, NULL);
	CHECK(image_tree_get(&t, "etc/motd") == NULL);
	CHECK(image_tree_get(&t, "etc/passwd") != NULL);
	CHECK(image_tree_get(&t, "var/cache/a") == NULL);
	CHECK(image_tree_get(&t, "var/cache/b") != NULL);
	CHECK(image_tree_get(&t, "var/cache") != NULL);
	CHECK(image_tree_get(&t, "opt/x/y") == NULL);
	CHECK(image_tree_get(&t, "opt")->type == IMAGE_FILE);
	/* hard links: only to live files */
	put(&t, "etc/pw2", IMAGE_HARDLINK, 2, "etc/passwd");
	CHECK(image_tree_get(&t, "etc/pw2") != NULL);
	put(&t, "etc/bad", IMAGE_HARDLINK, 2, "etc/motd");
	CHECK(image_tree_get(&t, "etc/bad") == NULL);
	CHECK_EQ(t.skipped, 1);
	/* the /init rule */
	CHECK(image_tree_add_init(&t));
	CHECK_STR(image_tree_get(&t, "init")->target, "/sbin/init");
	CHECK(!image_tree_add_init(&t));
	/* sorted: a directory right before its contents */
	put(&t, "etc-x", IMAGE_FILE, 2, NULL);
	size_t n;
	struct image_node **v = image_tree_sorted(&t, &n);
	CHECK(v != NULL);
	for (size_t i = 0; v && i + 1 < n; i++)
		if (!strcmp(v[i]->path, "etc"))
			CHECK_STR(v[i + 1]->path, "etc/passwd");
	free(v);
	image_tree_free(&t);
}

static void test_parents(void)
{
	struct image_tree t;
	image_tree_init(&t);
	put(&t, "a/b/c", IMAGE_FILE, 0, NULL);
	CHECK_EQ(image_tree_fill_parents(&t), 0);
	CHECK(image_tree_get(&t, "a/b") && image_tree_get(&t, "a/b")->type == IMAGE_DIR);
	CHECK(image_tree_get(&t, "a") != NULL);
	image_tree_free(&t);
}

static void test_key(void)
{
	struct image_node a = {.path = "bin", .type = IMAGE_DIR, .perm = 0755};
	struct image_node b = {.path = "bin/sh", .type = IMAGE_FILE, .perm = 0755, .size = 10};
	struct image_node *v[] = {&a, &b};
	char k1[65], k2[65], k3[65];
	image_key_listing(v, 2, k1);
	image_key_listing(v, 2, k2);
	CHECK_STR(k1, k2);
	CHECK_EQ(strlen(k1), 64);
	b.mtime_ns = 1;
	image_key_listing(v, 2, k3);
	CHECK(strcmp(k1, k3) != 0);
	b.mtime_ns = 0;
	b.uid = 1;
	image_key_listing(v, 2, k3);
	CHECK(strcmp(k1, k3) != 0);
	image_key_tar("00", k2);
	image_key_tar("01", k3);
	CHECK(strcmp(k2, k3) != 0);
}

static void test_json(void)
{
	char out[4][256];
	const char *docker = "[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],"
			     "\"Layers\":[\"a/layer.tar\", \"b/layer.tar\"]}]";
	CHECK_EQ(image_json_strings(docker, strlen(docker), "Layers", NULL, out, 4), 2);
	CHECK_STR(out[0], "a/layer.tar");
	CHECK_STR(out[1], "b/layer.tar");
	const char *oci = "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:cc\"},"
			  "\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:aa\",\"size\":3},"
			  "{\"annotations\":{\"digest\":\"no\"},\"digest\":\"sha256:bb\"}]}";
	CHECK_EQ(image_json_strings(oci, strlen(oci), "layers", "digest", out, 4), 2);
	CHECK_STR(out[0], "sha256:aa");
	CHECK_STR(out[1], "sha256:bb");
	const char *idx = "{\"manifests\":[{\"digest\":\"sha256:dd\",\"platform\":{}}]}";
	CHECK_EQ(image_json_strings(idx, strlen(idx), "manifests", "digest", out, 4), 1);
	CHECK_STR(out[0], "sha256:dd");
	CHECK_EQ(image_json_strings(idx, strlen(idx), "layers", "digest", out, 4), -EINVAL);
	CHECK_EQ(image_json_strings("[{\"Layers\":[\"a\"", 15, "Layers", NULL, out, 4), -EINVAL);
	CHECK_EQ(image_json_strings("", 0, "Layers", NULL, out, 4), -EINVAL);
}

int main(void)
{
	RUN(test_sha256);
	RUN(test_clean_name);
	RUN(test_whiteout);
	RUN(test_layers);
	RUN(test_parents);
	RUN(test_key);
	RUN(test_json);
	return test_summary();
}
