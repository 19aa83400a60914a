/* SPDX-License-Identifier: MIT */
/*
 * sig.c - asynchronous signals never run the program's handler while the
 * thread is inside the library.
 *
 * The kernel makes its file calls async-signal-safe; here a served call
 * holds locks (the pool lock, the core's metadata and file locks, the
 * offset lock), malloc's and per-thread state, so a handler that calls
 * exit() or another file call on UMFS from inside one would wait for
 * itself or see a half-done change. So:
 *
 *   - every disposition the program sets is kept here and given back on
 *     query; for a handler, the kernel gets the library's wrapper with the
 *     program's mask and flags (SA_SIGINFO added, SA_RESETHAND emulated:
 *     a deferred signal must still find its handler);
 *   - a served call raises a per-thread depth (shim_busy, no system call);
 *     the wrapper, finding it above 0, records the signal and its siginfo,
 *     and returns with the signal's number blocked (in the mask its frame
 *     gives back), so that more of that number wait in the kernel's queue,
 *     in the order sent; when the depth drops back to 0, the program's
 *     handler runs for each recorded, in the order they came, with the
 *     mask the kernel would have given it, and the numbers are unblocked:
 *     the kernel delivers the rest after them, as the call returns;
 *   - faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS with
 *     si_code > 0) are never deferred: a fault in a probe of the caller's
 *     memory becomes EFAULT (probe.c), a SIGBUS on the memory of the pool
 *     or of its shared areas fails the mount (umfs_fault_absorb: the
 *     calls answer EIO), anything else goes to the program's handler, or
 *     to the default action, at once;
 *   - a record-lock or flock wait ends at a deferred signal, and the call
 *     restarts after the handler ran (reclock.c); a FIFO open waits with
 *     the depth at 0 (sig_allow_begin/end);
 *   - a thread in asynchronous cancellation mode (the program's choice, or
 *     the C library's inside each cancellation point) is never unwound
 *     from the library's own steps: the wrapper does them in deferred mode
 *     and gives the handler the mode it found, and a served call that
 *     handler makes holds the cancellation off until the call ends, as the
 *     kernel acts on one only as a system call returns. Unwound in the
 *     middle, a thread would leave the signal table's lock taken (every
 *     later sigaction of the process would spin), or a descriptor, a lock
 *     of the core, a reference of the library.
 *
 * SIGSEGV and SIGBUS always carry the wrapper (for the probes and the
 * pool's faults), unless the program ignores them (SIG_IGN stays the
 * kernel's, which exec keeps; the kernel ends a thread that ignores or
 * blocks the signal of its fault, whatever the handler).
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim.h"

__thread int shim_busy __attribute__((tls_model("initial-exec")));
__thread int shim_sig_pending __attribute__((tls_model("initial-exec")));
__thread uintptr_t sig_async_frame __attribute__((tls_model("initial-exec")));
__thread int sig_cancel_held __attribute__((tls_model("initial-exec")));

/* The signals deferred on a thread: q[head, n) wait for their handlers,
 * in the order they came; room for cap. Standard ones merge; real-time
 * ones are each kept, as the kernel queues them, up to the kernel's own
 * bound on a user's queued signals (RLIMIT_SIGPENDING). Its number held,
 * a second signal of one is recorded only where the library put back a
 * mask from before the first. */
struct sig_deferred {
	size_t size; /* of the mapping */
	unsigned head, n, cap;
	siginfo_t q[];
};
/* Only the two counters above are on the fast path (initial-exec: no call
 * to find them). The queue is mapped (a page, 31 signals) at a thread's
 * first deferral, doubled when full, and unmapped when flushed empty: in
 * TLS it would be cleared, and faulted in, for every thread of every
 * process that loads the library, while a signal deferred is rare. */
static __thread struct sig_deferred *sig_deferred;
/* The numbers the library blocked as it recorded a signal of theirs
 * (bit sig - 1), while one waits in the queue: not the program's. */
static __thread uint64_t sig_held;
/* What the kernel would block in the recorded signal's handler running
 * now: the program's mask, the handler's sa_mask, its own number; not the
 * library's holds. The mask a jump out of it that keeps the mask leaves. */
static __thread uint64_t sig_handler_bits;

static uint64_t sig_bit(int sig)
{
	return sig >= 1 && sig <= 64 ? 1ULL << (sig - 1) : 0;
}

static void sig_mask_bits(sigset_t *set, uint64_t bits, bool add)
{
	for (; bits; bits &= bits - 1) {
		int sig = __builtin_ctzll(bits) + 1;

		if (add)
			sigaddset(set, sig);
		else
			sigdelset(set, sig);
	}
}

static uint64_t sig_set_bits(const sigset_t *set)
{
	uint64_t bits = 0;

	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(set, sig) == 1)
			bits |= sig_bit(sig);
	return bits;
}

static unsigned sig_queue_cap(size_t size)
{
	return (unsigned)((size - sizeof(struct sig_deferred)) / sizeof(siginfo_t));
}

/* The program's dispositions. known: act holds what the program set (or
 * what the kernel had when first looked at). */
struct sig_slot {
	_Atomic unsigned seq; /* odd while being changed */
	bool known;
	struct sigaction act;
};
/* The slots of SIGSEGV and SIGBUS, which every process that loads the
 * library fills, lie among the small variables, on a page that process
 * writes anyway; the other signals' slots, which only a program that
 * sets a handler touches, in a table among the large arrays. */
static struct sig_slot sig_fault_slots[2];
UMFS_BSS_LARGE static struct sig_slot sig_table[_NSIG];
static atomic_flag sig_table_lock = ATOMIC_FLAG_INIT;

static struct sig_slot *sig_slot_of(int sig)
{
	return sig == SIGSEGV ? &sig_fault_slots[0]
	       : sig == SIGBUS ? &sig_fault_slots[1]
			       : &sig_table[sig];
}

static bool sig_is_fault(int sig, const siginfo_t *si)
{
	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		sig == SIGTRAP || sig == SIGSYS) &&
	       si != NULL && si->si_code > 0;
}

static bool sig_always_wrapped(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS;
}

/* A consistent copy of the program's action for sig. */
static void sig_action_get(int sig, struct sigaction *out)
{
	struct sig_slot *s = sig_slot_of(sig);
	unsigned seq;

	do {
		while ((seq = atomic_load_explicit(&s->seq, memory_order_acquire)) & 1)
			;
		memcpy(out, &s->act, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq);
}

static void sig_block_all(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	SYS(pthread_sigmask)(SIG_SETMASK, &all, old);
}

static void sig_restore_mask(const sigset_t *old)
{
	SYS(pthread_sigmask)(SIG_SETMASK, old, NULL);
}

static int sig_resend(const siginfo_t *si)
{
	siginfo_t copy = *si;

	return (int)SYS(syscall)(SYS_rt_tgsigqueueinfo, (long)getpid(), (long)gettid(),
				 (long)si->si_signo, &copy);
}

/* Signals whose default action is to do nothing. */
static bool sig_default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static void sig_wrapper(int sig, siginfo_t *si, void *ctx);

/* What the kernel is given for the program's action on sig. */
static void sig_kernel_action(int sig, const struct sigaction *prog, struct sigaction *k)
{
	/* sa_handler and sa_sigaction share their storage: SIG_DFL and SIG_IGN
	 * are what they are with SA_SIGINFO too */
	bool handler = prog->sa_handler != SIG_DFL && prog->sa_handler != SIG_IGN;

	if (!handler && !(sig_always_wrapped(sig) && prog->sa_handler == SIG_DFL)) {
		*k = *prog;
		return;
	}
	memset(k, 0, sizeof(*k));
	k->sa_sigaction = sig_wrapper;
	k->sa_mask = prog->sa_mask;
	k->sa_flags = (prog->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
	if (!handler)
		k->sa_flags = SA_SIGINFO | SA_ONSTACK;
}

/* The table is changed with this thread's signals deferred (the wrapper
 * records them while shim_busy is up, and their handlers run as it drops),
 * not blocked: no handler of this thread waits for the lock it holds, and
 * no system call is spent on the mask. */
static void sig_table_enter(void)
{
	shim_busy_enter();
	while (atomic_flag_test_and_set_explicit(&sig_table_lock, memory_order_acquire))
		sched_yield();
}

static void sig_table_leave(void)
{
	atomic_flag_clear_explicit(&sig_table_lock, memory_order_release);
	shim_busy_leave();
}

/* Sets the program's action (act may be NULL) and returns the previous. */
static void sig_slot_store(struct sig_slot *s, const struct sigaction *act)
{
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
	s->act = *act;
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
}

static bool sig_slot_known(const struct sig_slot *s)
{
	return __atomic_load_n(&s->known, __ATOMIC_ACQUIRE);
}

/* The slot holds act from now on: what the program set, or what the
 * kernel had when first looked at. Call with the table lock held. */
static void sig_slot_know(struct sig_slot *s, const struct sigaction *act)
{
	sig_slot_store(s, act);
	__atomic_store_n(&s->known, true, __ATOMIC_RELEASE);
}

/* First look at sig: the disposition the process came with. Call with
 * the table lock held. */
static void sig_slot_learn(int sig)
{
	struct sig_slot *s = sig_slot_of(sig);
	struct sigaction cur;

	if (s->known)
		return;
	if (SYS(sigaction)(sig, NULL, &cur) != 0)
		memset(&cur, 0, sizeof(cur));
	sig_slot_know(s, &cur);
}

/* What the C library adds to the flags of an action it installs
 * (SA_RESTORER), as a query after an install shows; -1 until one did.
 * Changed under the table lock. */
static int sig_libc_flags = -1;

/* In a vfork child, which runs in its parent's memory: the kernel's action
 * alone changes, the program's handler unwrapped (the child's next step is
 * an exec or an exit), and the table stays the parent's. A handler for
 * SIGSEGV or SIGBUS, whose wrapper the library's probes need, takes a
 * child of its own. */
static int sig_set_unshared(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction was;

	if (act && sig_always_wrapped(sig))
		shim_vfork_retry();
	if (old && sig_slot_of(sig)->known)
		sig_action_get(sig, &was);
	else if (old && SYS(sigaction)(sig, NULL, &was) != 0)
		return -errno;
	if (act && SYS(sigaction)(sig, act, NULL) != 0)
		return -errno;
	if (old)
		*old = was;
	return 0;
}

/* The table changes before the kernel's action: a signal in between runs
 * the new action through the wrapper, or the old one from the kernel, as
 * if it came just after or just before the change. */
static int sig_set(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction k, q, now, was;
	struct sig_slot *s;
	int r = 0;

	if (sig <= 0 || sig >= _NSIG || sig == SIGKILL || sig == SIGSTOP)
		return SYS(sigaction)(sig, act, old) < 0 ? -errno : 0;
	if (act && user_readable(act, sizeof(*act)))
		return -EFAULT;
	if (old && user_writable(old, sizeof(*old)))
		return -EFAULT;
	if (act) {
		now = *act; /* act and old may be one struct */
		sigdelset(&now.sa_mask, SIGKILL);
		sigdelset(&now.sa_mask, SIGSTOP);
	}
	if (shim_vfork_child())
		return sig_set_unshared(sig, act ? &now : NULL, old);
	s = sig_slot_of(sig);
	if (!act) {
		/* a query: the table's, or for a signal nobody set through the
		 * library the kernel's, which is then the program's */
		if (sig_slot_known(s))
			sig_action_get(sig, &was);
		else if (SYS(sigaction)(sig, NULL, &was) != 0)
			return -errno;
		if (old)
			*old = was;
		return 0;
	}
	sig_table_enter();
	sig_slot_learn(sig);
	was = s->act;
	sig_kernel_action(sig, &now, &k);
	if (sig_libc_flags >= 0)
		now.sa_flags |= sig_libc_flags;
	sig_slot_store(s, &now);
	if (SYS(sigaction)(sig, &k, NULL) != 0) {
		r = -errno;
		sig_slot_store(s, &was);
	} else if (sig_libc_flags < 0 && SYS(sigaction)(sig, NULL, &q) == 0 &&
		   (q.sa_flags & ~k.sa_flags)) {
		/* kept once seen (a program that passed them itself shows none) */
		sig_libc_flags = q.sa_flags & ~k.sa_flags;
		now.sa_flags |= sig_libc_flags;
		sig_slot_store(s, &now);
	}
	sig_table_leave();
	if (r == 0 && now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN)
		jump_resolve(); /* the handler may leave by one */
	if (old && r == 0)
		*old = was;
	return r;
}

/* SA_RESETHAND: back to SIG_DFL as the handler starts (flags kept, as the
 * kernel keeps them). */
static void sig_reset_hand(int sig, const struct sigaction *was)
{
	struct sigaction dfl = *was;

	dfl.sa_handler = SIG_DFL;
	sig_set(sig, &dfl, NULL);
}

/* Runs the program's action for a signal the kernel delivered now; type:
 * the cancellation mode the signal found, which the handler runs in. */
static void sig_run(int sig, siginfo_t *si, void *ctx, int type)
{
	struct sigaction act;
	bool fault = sig_is_fault(sig, si);

	sig_action_get(sig, &act);
	if (act.sa_handler == SIG_IGN && !fault)
		return;
	if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		struct sigaction dfl;

		if (!fault && sig_default_ignores(sig))
			return;
		/* the default action, from the kernel: a fault repeats by
		 * itself on return; a sent signal is sent again (blocked in
		 * here, it arrives as the wrapper returns) */
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		SYS(sigaction)(sig, &dfl, NULL);
		if (!fault)
			sig_resend(si);
		return;
	}
	if (act.sa_flags & SA_RESETHAND)
		sig_reset_hand(sig, &act);
	if (!(act.sa_flags & SA_RESTART))
		sig_interrupts++;
	if (type == PTHREAD_CANCEL_ASYNCHRONOUS) {
		sig_async_frame = (uintptr_t)__builtin_frame_address(0);
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	}
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, si, ctx);
	else
		act.sa_handler(sig);
}

/* Unmaps this thread's queue; call with every signal blocked. */
static void sig_queue_drop(void)
{
	struct sig_deferred *d = sig_deferred;

	sig_deferred = NULL;
	if (d)
		OS(munmap)(d, d->size);
}

/* This thread's queue with room for one more signal: mapped if it has
 * none, moved to a mapping twice as large if full; NULL when no memory is
 * left or the bound is reached, and the signal is dropped. Call with
 * every signal blocked (the core's table makes system calls alone: safe
 * in a handler). */
static struct sig_deferred *sig_queue_room(void)
{
	struct sig_deferred *d = sig_deferred, *p;
	size_t size = d ? 2 * d->size : (size_t)getpagesize();
	struct rlimit lim;

	if (d && d->n < d->cap)
		return d;
	if (d && d->head > 0) { /* what was run makes room first */
		memmove(&d->q[0], &d->q[d->head], (size_t)(d->n - d->head) * sizeof(d->q[0]));
		d->n -= d->head;
		d->head = 0;
		return d;
	}
	if (d && (OS(getrlimit)(RLIMIT_SIGPENDING, &lim) != 0 || d->n >= lim.rlim_cur))
		return NULL;
	p = OS(mmap)(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (d) {
		memcpy(p, d, d->size);
		OS(munmap)(d, d->size);
	}
	p->size = size;
	p->cap = sig_queue_cap(size);
	sig_deferred = p;
	return p;
}

/* Records si, and blocks its number as the wrapper returns (uc's mask is
 * what the kernel puts back): the next of that number waits in the
 * kernel's queue behind it. Every signal is blocked meanwhile, as another
 * handler that deferred its signal in the middle would write the same
 * slot, or find the queue moved. */
static void sig_defer(const siginfo_t *si, ucontext_t *uc)
{
	struct sig_deferred *d;
	sigset_t mask;

	sig_block_all(&mask);
	d = sig_deferred;
	if (d && si->si_signo < SIGRTMIN)
		for (unsigned i = d->head; i < d->n; i++)
			if (d->q[i].si_signo == si->si_signo)
				goto hold; /* pending standard signals merge, as in the kernel */
	d = sig_queue_room();
	if (!d)
		goto out;
	d->q[d->n++] = *si;
	shim_sig_pending = 1;
hold:
	sig_held |= sig_bit(si->si_signo);
	sigaddset(&uc->uc_sigmask, si->si_signo);
out:
	sig_restore_mask(&mask);
}

/* The library's steps run in deferred cancellation mode; what the thread
 * it interrupted had for sig_cancel_hold is kept aside for the handler's
 * own calls and put back, so that a handler's served call never lets go of
 * a hold it did not take. A cancellation that came meanwhile is acted on
 * as the mode is given back, before the handler or as the wrapper ends. */
static void sig_wrapper(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t frame = sig_async_frame;
	int saved = errno, held = sig_cancel_held, type;

	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
	sig_cancel_held = 0;
	if (sig_is_fault(sig, si)) {
		if (!shim_probe_fixup(ctx) && !umfs_fault_absorb(sig, si) && !shim_copy_fixup(ctx, si))
			sig_run(sig, si, ctx, type);
	} else if (shim_busy > 0 && !shim_vfork_child()) {
		/* (a vfork child's queue would be its parent's) */
		sig_defer(si, ctx);
	} else {
		sig_run(sig, si, ctx, type);
	}
	sig_async_frame = frame;
	sig_cancel_held = held;
	errno = saved;
	if (type == PTHREAD_CANCEL_ASYNCHRONOUS)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
}

/* A served call, at depth 0, of a handler the wrapper runs in asynchronous
 * mode: deferred mode until the call ends (sig_flush). A frame above the
 * wrapper's is past a handler left by longjmp, which holds nothing. */
void sig_cancel_hold(void)
{
	int type;

	if ((uintptr_t)__builtin_frame_address(0) > sig_async_frame) {
		sig_async_frame = 0;
		return;
	}
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
	if (type == PTHREAD_CANCEL_ASYNCHRONOUS)
		sig_cancel_held = 1;
}

/* The first signal recorded, taken off the queue (unmapped once empty);
 * false when none is. Its number stays held while another of it waits.
 * Call with every signal blocked: a handler's served call may record
 * signals meanwhile, and move the queue. */
static bool sig_queue_pop(siginfo_t *si)
{
	struct sig_deferred *d = sig_deferred;
	bool more = false;

	if (!d || d->head >= d->n)
		return false;
	*si = d->q[d->head++];
	for (unsigned i = d->head; i < d->n && !more; i++)
		more = d->q[i].si_signo == si->si_signo;
	if (!more)
		sig_held &= ~sig_bit(si->si_signo);
	if (d->head == d->n) {
		shim_sig_pending = 0;
		sig_queue_drop();
	}
	return true;
}

/* Whether the first signal recorded is one of set's: it waits, as the
 * kernel keeps a signal the mask blocks. Call with every signal blocked. */
static bool sig_queue_head_in(const sigset_t *set)
{
	struct sig_deferred *d = sig_deferred;

	return d && d->head < d->n && sigismember(set, d->q[d->head].si_signo) == 1;
}

/* What sig_onstack_start runs: set just before the switch to it. */
static __thread struct sig_onstack {
	siginfo_t *si;
	ucontext_t *uc;
} *sig_onstack_arg;

static void sig_onstack_start(void)
{
	struct sig_onstack *a = sig_onstack_arg;

	sig_wrapper(a->si->si_signo, a->si, a->uc);
}

/* Runs a recorded signal's action: for SA_ONSTACK on the thread's
 * alternate stack, as the kernel would, if it has one and is not on it
 * already. */
static void sig_run_recorded(siginfo_t *si, ucontext_t *uc, int flags)
{
	struct sig_onstack arg = { si, uc };
	ucontext_t back, alt;
	stack_t ss;

	if (!(flags & SA_ONSTACK) || SYS(syscall)(SYS_sigaltstack, NULL, &ss) != 0 ||
	    (ss.ss_flags & (SS_DISABLE | SS_ONSTACK)) || getcontext(&alt) != 0) {
		sig_wrapper(si->si_signo, si, uc);
		return;
	}
	alt.uc_stack.ss_sp = ss.ss_sp;
	alt.uc_stack.ss_size = ss.ss_size;
	alt.uc_link = &back;
	sig_onstack_arg = &arg;
	makecontext(&alt, sig_onstack_start, 0);
	swapcontext(&back, &alt);
}

/* The depth dropped to 0 with signals recorded: the program's handler
 * runs for each, in the order they came, here (sent again, a signal would
 * queue behind those of its number the kernel holds, sent after it). Each
 * with the mask the kernel would give it (the thread's, the handler's
 * sa_mask, the signal itself), the numbers still held kept blocked, on
 * the stack it asks for, and the context of this point; then the mask is
 * the program's again, less what was held: the kernel delivers what
 * waited. A handler's served call that records signals of its own runs
 * them as it returns, nested here. to: for a jump (sig_jump), the mask it
 * leaves, in place of the thread's; a signal it blocks stops the run. */
static void sig_run_deferred(const sigset_t *to)
{
	uint64_t handler_was = sig_handler_bits, program;
	int saved = errno;
	ucontext_t uc;
	sigset_t mask;
	siginfo_t si;

	getcontext(&uc); /* the handlers' context, and the thread's mask */
	if (to) {
		uc.uc_sigmask = *to;
		sig_mask_bits(&uc.uc_sigmask, sig_held, true);
	}
	mask = uc.uc_sigmask;
	program = sig_set_bits(&mask) & ~sig_held;
	for (;;) {
		struct sigaction act;
		sigset_t run = mask;
		uint64_t held;

		sig_block_all(NULL);
		if ((to && sig_queue_head_in(to)) || !sig_queue_pop(&si))
			break;
		held = sig_held | sig_bit(si.si_signo);
		sig_action_get(si.si_signo, &act);
		sig_mask_bits(&run, held, true);
		sigorset(&run, &run, &act.sa_mask);
		if ((act.sa_flags & SA_NODEFER) && !(sig_held & sig_bit(si.si_signo)))
			sigdelset(&run, si.si_signo);
		sig_handler_bits = program | sig_set_bits(&act.sa_mask) |
				   (act.sa_flags & SA_NODEFER ? 0 : sig_bit(si.si_signo));
		sig_restore_mask(&run);
		sig_run_recorded(&si, &uc, act.sa_flags);
		/* what this handler's signal, or a nested run, let go of */
		sig_mask_bits(&mask, held & ~sig_held, false);
	}
	sig_handler_bits = handler_was;
	sig_restore_mask(&mask);
	errno = saved;
}

/* A jump at depth 0 while signals wait in the queue (calls_jump.c): a
 * handler run for one of them may be leaving the loop above. Those the
 * mask the jump leaves lets through run now, as the kernel delivers a
 * pending signal once the mask lets it, before the jump's own mask change
 * lets later signals of their numbers in. A jump that keeps the mask
 * leaves the kernel's one for the handler it is in (not the library's
 * holds). */
void sig_jump(const sigset_t *to)
{
	sigset_t keep;

	if (shim_vfork_child())
		return;
	if (!to) {
		SYS(pthread_sigmask)(SIG_BLOCK, NULL, &keep);
		sig_mask_bits(&keep, sig_held, false);
		sig_mask_bits(&keep, sig_handler_bits, true);
		to = &keep;
	}
	sig_run_deferred(to);
}

/* The depth dropped to 0: the signals deferred run, then a cancellation
 * held off is let go of (and acted on, if one came meanwhile). */
void sig_flush(void)
{
	shim_fdguard_call_end(); /* before handlers, which may dup2 */
	if (shim_sig_pending)
		sig_run_deferred(NULL);
	if (sig_cancel_held) {
		sig_cancel_held = 0;
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	}
}

/* Signals the parent deferred are not the child's. Without a queue there
 * is nothing to drop, and nothing pending (sig_defer sets it only after
 * queueing; sig_flush clears it before it unmaps): a fork then costs no
 * system call here. */
void sig_fork_child(void)
{
	sigset_t mask;

	if (!__atomic_load_n(&sig_deferred, __ATOMIC_RELAXED))
		return;
	sig_block_all(&mask);
	sig_queue_drop();
	shim_sig_pending = 0;
	sig_mask_bits(&mask, sig_held, false); /* the parent's holds */
	sig_held = 0;
	sig_restore_mask(&mask);
}

__thread unsigned sig_interrupts __attribute__((tls_model("initial-exec")));

struct sig_allowed sig_allow_begin(void)
{
	struct sig_allowed was = { .depth = shim_busy, .held = sig_cancel_held };

	sig_cancel_held = 0;
	shim_busy = 0;
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(shim_sig_pending | shim_fdguard_call))
		sig_flush();
	return was;
}

void sig_allow_end(struct sig_allowed was)
{
	atomic_signal_fence(memory_order_seq_cst);
	shim_busy = was.depth;
	sig_cancel_held = was.held;
}

/* The wrapper on SIGSEGV and SIGBUS from the start, with the program's
 * inherited dispositions kept (and shown as the kernel shows them); the
 * core's mounts leave SIGBUS to it. One install each, which also tells
 * what the process came with: an inherited SIG_IGN is put back (a signal
 * sent meanwhile waits in the wrapper, deferred, and then finds it). */
void sig_init(void)
{
	static const int wrapped[] = { SIGSEGV, SIGBUS };

	umfs_fault_routed();
	/* the wrapper's own calls, resolved (dlsym) here and not in a handler */
	(void)SYS(pthread_sigmask);
	(void)SYS(syscall);
	sig_table_enter();
	/* written before it is read: a first read would map the zero page,
	 * and the kernel's write of the action a copy, two faults for one */
	atomic_fetch_add_explicit(&sig_slot_of(SIGSEGV)->seq, 0, memory_order_relaxed);
	for (size_t i = 0; i < ARRAY_SIZE(wrapped); i++) {
		struct sig_slot *s = sig_slot_of(wrapped[i]);
		struct sigaction k, dfl, came;

		if (s->known)
			continue; /* the program set it already: sig_set wrapped it */
		memset(&dfl, 0, sizeof(dfl));
		sig_kernel_action(wrapped[i], &dfl, &k);
		if (SYS(sigaction)(wrapped[i], &k, &came) != 0) {
			sig_slot_learn(wrapped[i]);
			continue;
		}
		sig_slot_know(s, &came);
		if (came.sa_handler != SIG_DFL || (came.sa_flags & SA_SIGINFO))
			SYS(sigaction)(wrapped[i], &came, NULL);
	}
	sig_table_leave();
}

/* ------------------------------------------------------------------ */
/* The entry points                                                     */
/* ------------------------------------------------------------------ */

SHIM_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return (int)shim_ret(sig_set(sig, act, old));
}

SHIM_API int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal() with the given flags and mask-self choice; SIG_ERR on error. */
static sighandler_t sig_install(int sig, sighandler_t h, int flags, bool mask_self)
{
	struct sigaction sa, old;
	int r;

	if (h == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (mask_self)
		sigaddset(&sa.sa_mask, sig);
	r = sig_set(sig, &sa, &old);
	if (r < 0) {
		errno = -r;
		return SIG_ERR;
	}
	return old.sa_handler;
}

/* BSD semantics, glibc's default: restarting, the signal blocked in its handler */
SHIM_API sighandler_t signal(int sig, sighandler_t h)
{
	return sig_install(sig, h, SA_RESTART, true);
}

SHIM_API sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return sig_install(sig, h, SA_RESTART, true);
}

SHIM_API sighandler_t ssignal(int sig, sighandler_t h)
{
	return sig_install(sig, h, SA_RESTART, true);
}

/* System V semantics: one-shot, not blocked in its handler */
SHIM_API sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return sig_install(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

SHIM_API sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}

SHIM_API sighandler_t sigset(int sig, sighandler_t h)
{
	sigset_t one, was;
	sighandler_t old;

	if (sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (SYS(pthread_sigmask)(SIG_BLOCK, NULL, &was) != 0)
		return SIG_ERR;
	if (h == SIG_HOLD) {
		struct sigaction cur;
		int r = sig_set(sig, NULL, &cur);

		if (r < 0) {
			errno = -r;
			return SIG_ERR;
		}
		SYS(pthread_sigmask)(SIG_BLOCK, &one, NULL);
		return sigismember(&was, sig) ? SIG_HOLD : cur.sa_handler;
	}
	old = sig_install(sig, h, 0, false);
	if (old == SIG_ERR)
		return SIG_ERR;
	SYS(pthread_sigmask)(SIG_UNBLOCK, &one, NULL);
	return sigismember(&was, sig) ? SIG_HOLD : old;
}

SHIM_API int sigignore(int sig)
{
	return sig_install(sig, SIG_IGN, 0, false) == SIG_ERR ? -1 : 0;
}

SHIM_API int siginterrupt(int sig, int interrupt)
{
	struct sigaction sa;
	int r = sig_set(sig, NULL, &sa);

	if (r == 0) {
		if (interrupt)
			sa.sa_flags &= ~SA_RESTART;
		else
			sa.sa_flags |= SA_RESTART;
		r = sig_set(sig, &sa, NULL);
	}
	return (int)shim_ret(r);
}
