/* privdrop: see privdrop.h. */
#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int privdrop(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		char *end;
		unsigned long uid = strtoul(user, &end, 10);
		if (*user && !*end)
			pw = getpwuid((uid_t)uid);
	}
	if (!pw)
		return -ESRCH;
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -errno;
	/* Paranoia (CERT POS37-C): make sure the drop cannot be undone. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -EPERM;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}
