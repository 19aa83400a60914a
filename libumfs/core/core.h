/* SPDX-License-Identifier: MIT */
/*
 * core.h - every module header of the core, for the tests of its
 * internals. The core's own files include only the headers they use, each
 * module's own first, so that a change to one module's interface rebuilds
 * its users and not the whole core.
 */
#ifndef UMFS_CORE_H
#define UMFS_CORE_H

#include "alloc.h"
#include "cow.h"
#include "crc32c.h"
#include "cred.h"
#include "dir.h"
#include "fault.h"
#include "file.h"
#include "fs.h"
#include "inode.h"
#include "journal.h"
#include "locktab.h"
#include "log.h"
#include "namei.h"
#include "os.h"
#include "persist.h"
#include "prefault.h"
#include "procfs.h"
#include "ptable.h"
#include "report.h"
#include "rundir.h"
#include "share.h"
#include "testhooks.h"
#include "ulog.h"
#include "verify.h"

#endif /* UMFS_CORE_H */
