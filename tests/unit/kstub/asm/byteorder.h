/* SPDX-License-Identifier: MIT */
/* The kernel's le*_to_cpu names over the uapi header's __le*_to_cpu. */
#include_next <asm/byteorder.h>
#define le16_to_cpu(x) __le16_to_cpu(x)
#define le32_to_cpu(x) __le32_to_cpu(x)
#define le64_to_cpu(x) __le64_to_cpu(x)
#define cpu_to_le16(x) __cpu_to_le16(x)
#define cpu_to_le32(x) __cpu_to_le32(x)
#define cpu_to_le64(x) __cpu_to_le64(x)
