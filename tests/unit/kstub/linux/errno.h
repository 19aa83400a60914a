/* SPDX-License-Identifier: MIT */
/* glibc includes the uapi header of this name: keep it. */
#include_next <linux/errno.h>
#include "../kstub.h"
