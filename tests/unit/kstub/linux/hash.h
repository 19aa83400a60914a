/* SPDX-License-Identifier: MIT */
#include "../kstub.h"
