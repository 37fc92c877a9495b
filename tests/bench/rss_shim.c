/* Peak RSS of every process of a compliance run, exactly, without
 * sampling: an LD_PRELOAD shim that turns the runner's waitpid() into
 * wait4() and logs the rusage of each child it reaps (ru_maxrss, the
 * child's own peak resident set, KiB), and logs the process's own peak
 * (getrusage(RUSAGE_SELF)) when it exits. The worker pool forks its
 * workers (no exec) and reaps each with waitpid(), so each worker's line
 * is its own high-water mark. Built and used by contrib/bench/bench.sh:
 *
 *   cc -shared -fPIC -O2 -o rss_shim.so tests/bench/rss_shim.c
 *   CR_RSS_LOG=FILE LD_PRELOAD=./rss_shim.so git-clean-release compliance run ...
 *
 * FILE gets lines "child PID MAXRSS_KIB CPU_US" and "self PID MAXRSS_KIB
 * CPU_US" (CPU: user + system time of that process alone; O_APPEND, one
 * write() per line). Only the process that loaded the shim
 * logs "self": a forked worker leaves with _exit() and is reported by its
 * parent. Not part of clean-release. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t main_pid;

static long cpu_us(const struct rusage *ru)
{
	return (long)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000L + (long)ru->ru_utime.tv_usec +
	       (long)ru->ru_stime.tv_usec;
}

static void log_line(const char *what, pid_t pid, const struct rusage *ru)
{
	const char *file = getenv("CR_RSS_LOG");
	char line[96];
	int fd, n;

	if (!file || !*file)
		return;
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %ld %ld %ld\n", what, (long)pid, ru->ru_maxrss, cpu_us(ru));
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the figure is lost */
	}
	close(fd);
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	struct rusage ru;
	pid_t r;

	memset(&ru, 0, sizeof(ru));
	r = wait4(pid, status, options, &ru);
	if (r > 0)
		log_line("child", r, &ru);
	return r;
}

__attribute__((constructor)) static void shim_init(void)
{
	main_pid = getpid();
}

__attribute__((destructor)) static void shim_fini(void)
{
	struct rusage ru;

	if (getpid() != main_pid)
		return;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		log_line("self", getpid(), &ru);
}
