#ifndef SUIFANG_CZLIB_SHIM_H
#define SUIFANG_CZLIB_SHIM_H
#include <zlib.h>
#endif
