/* Endpoint, network, allow-list and port-range parsing. */
#include <arpa/inet.h>
#include <errno.h>

#include "core/netaddr.h"
#include "test.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static void test_endpoint(void)
{
	struct sockaddr_in sa;
	const char *why;
	CHECK_EQ(netaddr_parse_endpoint("127.0.0.1:6969", 69, &sa, &why), 0);
	CHECK_EQ(ntohs(sa.sin_port), 6969);
	CHECK_EQ(netaddr_parse_endpoint("0.0.0.0", 69, &sa, &why), 0);
	CHECK_EQ(ntohs(sa.sin_port), 69);
	const char *bad[] = {"",	"1.2.3",      "1.2.3.4:",   "1.2.3.4:0", "1.2.3.4:65536",
			     "host:69", "1.2.3.4:6x", "1.2.3.4:-1", "256.1.1.1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(netaddr_parse_endpoint(bad[i], 69, &sa, &why), -EINVAL);
	char buf[32];
	CHECK_STR(netaddr_str(&sa, buf, sizeof(buf)), "0.0.0.0:69");
}

static void test_netlist(void)
{
	struct netlist l;
	const char *why;
	CHECK_EQ(netaddr_parse_netlist("198.18.0.0/15, 127.0.0.1 10.1.2.3/8", &l, &why), 0);
	CHECK_EQ(l.n, 3);
	CHECK(netlist_allows(&l, ip("198.19.255.255")));
	CHECK(!netlist_allows(&l, ip("198.20.0.0")));
	CHECK(netlist_allows(&l, ip("127.0.0.1")));
	CHECK(!netlist_allows(&l, ip("127.0.0.2")));
	CHECK(netlist_allows(&l, ip("10.200.0.1"))); /* masked to 10.0.0.0/8 */
	CHECK_EQ(netaddr_parse_netlist("", &l, &why), 0);
	CHECK(netlist_allows(&l, ip("8.8.8.8"))); /* empty list: everyone */
	CHECK_EQ(netaddr_parse_netlist("0.0.0.0/0", &l, &why), 0);
	CHECK(netlist_allows(&l, ip("8.8.8.8")));
	CHECK_EQ(netaddr_parse_netlist("10.0.0.0/33", &l, &why), -EINVAL);
	CHECK_EQ(netaddr_parse_netlist("10.0.0.0/", &l, &why), -EINVAL);
	CHECK_EQ(netaddr_parse_netlist("a.b.c.d", &l, &why), -EINVAL);
}

static void test_port_range(void)
{
	uint16_t lo, hi;
	const char *why;
	CHECK_EQ(netaddr_parse_port_range("40000-40100", &lo, &hi, &why), 0);
	CHECK_EQ(lo, 40000);
	CHECK_EQ(hi, 40100);
	CHECK_EQ(netaddr_parse_port_range("5-5", &lo, &hi, &why), 0);
	CHECK_EQ(netaddr_parse_port_range("6-5", &lo, &hi, &why), -EINVAL);
	CHECK_EQ(netaddr_parse_port_range("0-5", &lo, &hi, &why), -EINVAL);
	CHECK_EQ(netaddr_parse_port_range("5", &lo, &hi, &why), -EINVAL);
	CHECK_EQ(netaddr_parse_port_range("1-70000", &lo, &hi, &why), -EINVAL);
}

int main(void)
{
	RUN(test_endpoint);
	RUN(test_netlist);
	RUN(test_port_range);
	return test_summary();
}
