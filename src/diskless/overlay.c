/* diskless/overlay.c: see overlay.h. (being written) */
#include "diskless/overlay.h"
