/* diskless/tree.c: see tree.h. (being written) */
#include "diskless/tree.h"
