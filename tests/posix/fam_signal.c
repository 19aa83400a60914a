/* SPDX-License-Identifier: MIT */
/*
 * fam_signal.c - the "signal" family: dispositions read back as set,
 * SA_RESETHAND, siginfo as sent, handlers that do file calls while the
 * thread is in the middle of one, and blocking waits that a signal ends.
 * Every line is the same on every run: counts are compared, not printed.
 */
#include "posix.h"

static volatile sig_atomic_t hits, bad_info, log_failed;
static char sig_log[PATH_MAX];
static timer_t storm_timer;

#define STORM_HITS 200

static void h_count(int sig)
{
	(void)sig;
	hits++;
}

static void h_any(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	(void)ctx;
	hits++;
}

static void h_info(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (sig != SIGUSR2 || si->si_code != SI_QUEUE || si->si_value.sival_int != 42 ||
	    si->si_pid != getpid())
		bad_info++;
	hits++;
}

/* A handler that does what a program's handler may do on the file system:
 * append a line to a log, and create and remove a name. */
static void h_files(int sig, siginfo_t *si, void *ctx)
{
	char name[PATH_MAX + 8];
	int e = errno, fd;

	(void)ctx;
	if (si->si_code != SI_TIMER || si->si_value.sival_int != 7 || sig != SIGALRM)
		bad_info++;
	fd = open(sig_log, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0 || write(fd, "tick\n", 5) != 5)
		log_failed++;
	if (fd >= 0)
		close(fd);
	snprintf(name, sizeof(name), "%s.tmp", sig_log);
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || close(fd) != 0 || unlink(name) != 0)
		log_failed++;
	/* the handler stops the timer: a slow file system (FUSE) takes longer
	 * than the interval, and the loop would never run again */
	if (++hits == STORM_HITS) {
		struct itimerspec off;

		memset(&off, 0, sizeof(off));
		timer_settime(storm_timer, 0, &off, NULL);
	}
	errno = e;
}

static const char *flagnames(int f)
{
	static char buf[128];

	size_t n;

	snprintf(buf, sizeof(buf), "%s%s%s%s%s", f & SA_SIGINFO ? "SIGINFO " : "",
		 f & SA_RESTART ? "RESTART " : "", f & SA_RESETHAND ? "RESETHAND " : "",
		 f & SA_NODEFER ? "NODEFER " : "", f & SA_ONSTACK ? "ONSTACK " : "");
	n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
	else
		strcpy(buf, "none");
	return buf;
}

static void show_action(const char *name, int sig, void (*expect)(int))
{
	struct sigaction q;

	memset(&q, 0, sizeof(q));
	if (sigaction(sig, NULL, &q) != 0) {
		emit(name, "sigaction query = -1 %s", ename(errno));
		return;
	}
	emit(name, "handler %s, flags %s, mask has SIGUSR2 %d",
	     q.sa_handler == SIG_DFL ? "SIG_DFL" : q.sa_handler == SIG_IGN ? "SIG_IGN"
		     : q.sa_handler == expect ? "as set" : "other",
	     flagnames(q.sa_flags), sigismember(&q.sa_mask, SIGUSR2));
}

/* Data calls and name changes in a loop while a timer fires SIGALRM with a
 * handler that writes to the same file system. */
static void signal_storm(void)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	char buf[4096], back[4096];
	int fd, wrong = 0, rounds = 0;
	size_t len = 0;
	char *log;
	int err;

	snprintf(sig_log, sizeof(sig_log), "%s", P("signal/log"));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_files;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	R("signal/storm-sigaction", sigaction(SIGALRM, &sa, NULL));
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	sev.sigev_value.sival_int = 7;
	if (timer_create(CLOCK_MONOTONIC, &sev, &storm_timer) != 0) {
		setup_fail("timer_create", "signal", errno);
		return;
	}
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = 300000; /* 0.3 ms */
	its.it_value = its.it_interval;
	hits = bad_info = log_failed = 0;
	fd = open(P("signal/data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	timer_settime(storm_timer, 0, &its, NULL);
	while (hits < STORM_HITS && rounds < 2000000) {
		memset(buf, 'a' + rounds % 26, sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), 4096 * (rounds % 4)) != (ssize_t)sizeof(buf) ||
		    pread(fd, back, sizeof(back), 4096 * (rounds % 4)) != (ssize_t)sizeof(back) ||
		    memcmp(buf, back, sizeof(buf)) != 0)
			wrong++;
		if (rename(P("signal/data"), P("signal/data2")) != 0 ||
		    rename(P("signal/data2"), P("signal/data")) != 0)
			wrong++;
		rounds++;
	}
	its.it_value.tv_sec = its.it_value.tv_nsec = 0;
	its.it_interval = its.it_value;
	timer_settime(storm_timer, 0, &its, NULL);
	timer_delete(storm_timer);
	signal(SIGALRM, SIG_IGN);
	close(fd);
	emit("signal/storm", "%d handlers ran: %d, data and names right: %d, siginfo intact: %d, "
	     "handlers' calls worked: %d", STORM_HITS, hits >= STORM_HITS, wrong == 0, bad_info == 0,
	     log_failed == 0);
	log = slurp("signal/log", &len, &err);
	emit("signal/storm-log", "one line per handler: %d", log && len == (size_t)hits * 5);
	free(log);
	R("signal/storm-no-tmp", access(P("signal/log.tmp"), F_OK));
}

/* F_SETLKW on a range a child holds, ended by SIGALRM without SA_RESTART. */
static void lock_wait(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct sigaction sa;
	int fd, pipefd[2];
	pid_t pid;
	char c;

	fd = open(P("signal/lock"), O_RDWR | O_CREAT, 0644);
	if (fd < 0 || pipe(pipefd) != 0) {
		setup_fail("open", "signal/lock", errno);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fcntl(fd, F_SETLK, &fl);
		write(pipefd[1], "x", 1);
		sleep(10);
		_exit(0);
	}
	read(pipefd[0], &c, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h_count;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	hits = 0;
	alarm(1);
	R("signal/setlkw-interrupted", fcntl(fd, F_SETLKW, &fl));
	emit("signal/setlkw-handler", "ran %d", hits);
	signal(SIGALRM, SIG_IGN);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

void t_signal(void)
{
	struct sigaction sa, old;
	union sigval v = { .sival_int = 42 };

	mk("signal");

	/* what was set is what a query gives back */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h_count;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	R("signal/sigaction-set", sigaction(SIGUSR1, &sa, NULL));
	show_action("signal/sigaction-query", SIGUSR1, h_count);
	memset(&old, 0, sizeof(old));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	R("signal/sigaction-old", sigaction(SIGUSR1, &sa, &old));
	emit("signal/sigaction-old-handler", "%s, flags %s", old.sa_handler == h_count ? "as set"
	     : "other", flagnames(old.sa_flags));
	show_action("signal/sigaction-ign", SIGUSR1, h_count);
	emit("signal/signal-returns-old", "%s", signal(SIGUSR1, h_count) == SIG_IGN ? "SIG_IGN" : "other");
	show_action("signal/signal-query", SIGUSR1, h_count);
	emit("signal/signal-returns-handler", "%s",
	     signal(SIGUSR1, SIG_DFL) == h_count ? "as set" : "other");
	R("signal/sigaction-bad", sigaction(0, NULL, &old));
	R("signal/sigaction-kill", sigaction(SIGKILL, &sa, NULL));

	/* the handler runs once, then the default comes back */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h_count;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	R("signal/resethand-raise", raise(SIGUSR1));
	emit("signal/resethand-ran", "%d", hits);
	show_action("signal/resethand-after", SIGUSR1, h_count);
	signal(SIGUSR1, SIG_IGN);

	/* the same on SIGBUS, which the library always watches, with SA_SIGINFO */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_any;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	hits = 0;
	R("signal/resethand-bus-raise", raise(SIGBUS));
	emit("signal/resethand-bus-ran", "%d", hits);
	show_action("signal/resethand-bus-after", SIGBUS, h_count);
	signal(SIGBUS, SIG_DFL);

	/* SIG_IGN given as an SA_SIGINFO action is SIG_IGN */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	R("signal/ign-siginfo-raise", raise(SIGUSR1));
	show_action("signal/ign-siginfo-after", SIGUSR1, h_count);
	signal(SIGUSR1, SIG_DFL);

	/* siginfo reaches the handler as sent */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	hits = bad_info = 0;
	R("signal/sigqueue", sigqueue(getpid(), SIGUSR2, v));
	emit("signal/siginfo", "ran %d, siginfo as sent %d", hits, bad_info == 0);
	signal(SIGUSR2, SIG_DFL);

	signal_storm();
	lock_wait();
}
