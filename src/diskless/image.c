/* diskless/image.c: see image.h. (being written) */
#include "diskless/image.h"
