/* diskless/exports.c: see exports.h. (being written) */
#include "diskless/exports.h"
