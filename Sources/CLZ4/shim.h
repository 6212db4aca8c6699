#ifndef MESHDB_CLZ4_SHIM_H
#define MESHDB_CLZ4_SHIM_H
#include <lz4.h>
#endif
