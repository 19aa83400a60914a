#!/bin/bash
# SPDX-License-Identifier: MIT
# sqlite.sh - multi-sqlite: two sqlite3 clients (python3's module) under
# the library insert into one database in /umfs at the same time, with a
# busy timeout, in rollback-journal and in WAL mode; then, in
# rollback-journal mode, one client under the library and one reaching the
# same database through umfs-fuse (their record locks meet in one table;
# WAL's shared-memory index cannot be shared across front ends, which
# fuse-memclaim checks). Afterwards
# integrity_check is ok and the rows are exactly those whose COMMIT
# returned (sqlite_client.py check). Then fsck.
. "$(dirname "$0")/lib.sh"

py=$(command -v /usr/bin/python3 || command -v python3 || true)
if [ -z "$py" ] || ! "$py" -c 'import sqlite3' 2>/dev/null; then
	echo "SKIP: python3 with sqlite3 is not installed"
	exit 77
fi
client=$here/sqlite_client.py
if [ "$FULL" = 1 ]; then txns=1500 rows=10; else txns=150 rows=5; fi
make_pool 256M

fuse=
if fuse_usable && mount_fuse; then fuse=1; else echo "SKIP cross: FUSE is not usable here"; fi
for mode in delete wal cross; do
	[ "$mode" = cross ] && [ -z "$fuse" ] && continue
	db=/umfs/$mode.db
	acks=$work/acks-$mode barrier=$work/barrier-$mode
	mkdir -p "$acks" "$barrier"
	shim "$py" -c "
import sqlite3
c = sqlite3.connect('$db', isolation_level=None)
c.execute('PRAGMA journal_mode = ${mode/cross/delete}')
c.execute('CREATE TABLE t (client INTEGER, txn INTEGER, row INTEGER, payload TEXT)')
c.execute('CREATE TABLE meta (key TEXT PRIMARY KEY, value)')
c.execute(\"INSERT INTO meta VALUES ('rows', $rows)\")
" || fail "$mode: creating $db"
	pids=()
	for c in 0 1; do
		if [ "$mode" = cross ] && [ "$c" = 1 ]; then
			timeout 300 "$py" "$client" write "$mnt/$mode.db" "$c" "$txns" "$rows" \
				"$acks/ack.$c" "$barrier" 2 >"$work/client-$mode-$c.log" 2>&1 &
		else
			shim timeout 300 "$py" "$client" write "$db" "$c" "$txns" "$rows" "$acks/ack.$c" \
				"$barrier" 2 >"$work/client-$mode-$c.log" 2>&1 &
		fi
		pids+=($!)
		bg_pids+=($!)
	done
	for c in 0 1; do
		rc=0
		wait "${pids[$c]}" || rc=$?
		if [ "$rc" = 0 ]; then
			pass "$mode: client $c committed $(wc -l <"$acks/ack.$c") transactions"
		else
			fail "$mode: client $c exit $rc$([ "$rc" = 124 ] && echo ' (timed out: a lock never released?)')"
			tail -5 "$work/client-$mode-$c.log"
		fi
	done
	bg_pids=()
	out=$(shim "$py" "$client" check "$db" "$acks" 2>&1) && pass "$mode: $out" ||
		{ fail "$mode: check"; echo "$out" | head -10; }
done
[ -n "$fuse" ] && unmount_fuse
check_fsck
finish
