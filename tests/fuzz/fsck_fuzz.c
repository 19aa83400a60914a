/* SPDX-License-Identifier: MIT */
/*
 * fsck_fuzz.c - libFuzzer harness for the fsck engine (built by
 * run-fuzz.sh with clang -fsanitize=fuzzer,address). See fuzz_target.h
 * for the input format and the properties checked.
 */
#include <stdlib.h>

#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (getenv("FSCK_FUZZ_VERBOSE"))
		fsck_fuzz_verbose = 1;
	return fsck_fuzz_one(data, size);
}
