/* SPDX-License-Identifier: MIT */
/*
 * log.h - messages to the front end's log (log.c).
 */
#ifndef UMFS_CORE_LOG_H
#define UMFS_CORE_LOG_H

/* log.c: messages to the front end's log (umfs_log_set). */
void umfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* UMFS_CORE_LOG_H */
