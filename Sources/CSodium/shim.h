#ifndef SUIFANG_CSODIUM_SHIM_H
#define SUIFANG_CSODIUM_SHIM_H
#include <sodium.h>
#endif
