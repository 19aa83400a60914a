/* SPDX-License-Identifier: MIT */
/* The kernel's integer names over the uapi header's. */
#include_next <linux/types.h>
#include "../kstub.h"
