/* A sim TA confines itself (docs/confinement.md): what an enclave's
 * hardware would deny it, a seccomp allowlist denies the process. The node
 * already started it as another user, without network, with no_new_privs
 * and no core dumps (tee/sim/host/launch.c); here the TA
 *  - keeps the /proc/self files it needs open (os/selffd.h) and reads the
 *    time zone, which it could not open afterwards;
 *  - makes itself not dumpable: no core file, and /proc/PID/mem, maps and
 *    the like belong to root, not to the TA user its neighbours share
 *    (exec made it dumpable again, so the TA must do it itself);
 *  - installs the handler that reports a forbidden call to the node;
 *  - loads the allowlist: anything else traps (SIGSYS), which kills it.
 *
 * The list was found with strace on the TAs of a scenario that runs every
 * runtime path, then with the whole integration suite under the filter,
 * which names any call it kills; each entry says why the runtime needs it.
 * It is not an enclave: the node, root, can still read and write the TA's
 * memory.
 */
#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "os/selffd.h"
#include "os/uffd_abi.h"
#include "talos/err.h"
#include "tee/sim/enclave/confine.h"
#include "tee/sim/common/report.h"
#ifdef TALOS_BENCH_ICOUNT
#include <valgrind/callgrind.h>
#endif

/* Namespaces a thread could be asked to enter at creation. */
#define CLONE_NS_FLAGS                                                                         \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
     CLONE_NEWPID | CLONE_NEWNET)

/* A rule: a call, what to do, and up to two argument comparisons. SELF
 * stands for this process's pid, known only at load time. */
#define SELF ((scmp_datum_t)-1)
#define ARG(n, o, a, b) {.arg = (n), .op = (o), .datum_a = (a), .datum_b = (b)}

struct rule {
    int nr;            /* SCMP_SYS(...) */
    uint32_t action;   /* SCMP_ACT_ALLOW or SCMP_ACT_ERRNO(...) */
    unsigned ncmp;
    struct scmp_arg_cmp cmp[2];
};

#define ALLOW(name) {SCMP_SYS(name), SCMP_ACT_ALLOW, 0, {{0}}}
#define ALLOW_IF(name, ...) {SCMP_SYS(name), SCMP_ACT_ALLOW, 1, {__VA_ARGS__}}
#define ALLOW_IF2(name, c1, c2) {SCMP_SYS(name), SCMP_ACT_ALLOW, 2, {c1, c2}}
#define REFUSE(name, err) {SCMP_SYS(name), SCMP_ACT_ERRNO(err), 0, {{0}}}

/* Comparisons are on the 64-bit register, whereas the kernel reads an int
 * argument from its low 32 bits: a signal number is therefore matched by
 * ranges that a value with high bits set cannot fall in, never with "!="
 * (libseccomp also takes one comparison per argument and rule). */
static const struct rule allowlist[] = {
    /* Memory: malloc, thread stacks, the arena, the rings. Never
     * executable: the code that runs is the image that was measured. */
    ALLOW(brk),
    ALLOW_IF(mmap, ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
    ALLOW_IF(mprotect, ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
    ALLOW(munmap),
    ALLOW(mremap),
    ALLOW(madvise), /* DONTNEED (arena trim, stacks), POPULATE_WRITE (restore) */
    /* Threads: glibc 2.36 creates them with clone3, whose flags live in
     * memory a filter cannot read; ENOSYS makes it fall back to clone,
     * whose flags it can: a thread of this process, in its namespaces.
     * fork, vfork and any other clone are not on the list. */
    REFUSE(clone3, ENOSYS),
    ALLOW_IF(clone, ARG(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_NS_FLAGS, CLONE_THREAD)),
    ALLOW(set_robust_list),
    ALLOW(rseq),
    ALLOW(futex), /* mutexes; FUTEX_WAIT/WAKE on the shared rings (os/xport.c) */
    ALLOW(sched_yield),
    ALLOW(gettid),
    ALLOW(getpid), /* OpenSSL's fork check, at every random draw */
    ALLOW(exit),
    ALLOW(exit_group),
    /* Signals: SIGPIPE ignored, the SIGSEGV handler of mprotect write
     * tracking (os/wtrack_mprotect.c), abort(). Not SIGSYS: its handler is
     * the one below. Signals only to this process (raise, abort, the fault
     * points of test builds, the SIGSYS handler). */
    ALLOW_IF(rt_sigaction, ARG(0, SCMP_CMP_LT, SIGSYS, 0)),                   /* 0-30 */
    ALLOW_IF(rt_sigaction, ARG(0, SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)0x1f, 0x20)), /* 32-63 */
    ALLOW_IF(rt_sigaction, ARG(0, SCMP_CMP_EQ, _NSIG - 1, 0)),                    /* 64 */
    ALLOW(rt_sigprocmask),
    ALLOW(rt_sigreturn),
    ALLOW(restart_syscall),
    ALLOW_IF(tgkill, ARG(0, SCMP_CMP_EQ, SELF, 0)),
    /* Descriptors the node passed (channel, rings, migration sockets) and
     * the /proc/self files opened before: no socket, connect, bind, accept
     * or socketpair of its own. */
    ALLOW(read),
    ALLOW(write),
    ALLOW(pread64), /* soft-dirty tracking reads pagemap */
    ALLOW(close),
    ALLOW(dup), /* a second transport on one socket (ta/nomig.c) */
    ALLOW(lseek), /* /proc/self/maps is read again from its start */
    ALLOW(fstat),
    ALLOW(newfstatat), /* glibc's fstat; stat of a path tells metadata, no content */
    ALLOW(fcntl),      /* F_GETFD/F_SETFL on its sockets, F_DUPFD_CLOEXEC of selffd */
    ALLOW(poll),
    ALLOW(recvmsg), /* frames, and descriptors passed with SCM_RIGHTS */
    ALLOW(sendmsg),
    ALLOW(setsockopt), /* SO_RCVTIMEO/SO_SNDTIMEO on the migration channel */
    ALLOW(shutdown),
    /* Write tracking (os/wtrack_uffd.c): its userfaultfd and the pagemap
     * scan, nothing else through ioctl. */
    ALLOW(userfaultfd),
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, UFFDIO_API, 0)),
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, UFFDIO_REGISTER, 0)),
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, UFFDIO_UNREGISTER, 0)),
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, UFFDIO_WRITEPROTECT, 0)),
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, PAGEMAP_SCAN, 0)),
    /* Time, randomness, scheduling. */
    ALLOW(clock_gettime), /* thread CPU clocks miss the vDSO */
    ALLOW(clock_nanosleep),
    ALLOW(nanosleep),
    ALLOW(pause), /* a fault point of a test build stalls there (ta/fault.c) */
    ALLOW(getrandom),
    ALLOW(sysinfo), /* glibc's qsort sizes its buffer by physical memory */
    /* The calling thread's own nice value only (os/sched.c). */
    ALLOW_IF2(setpriority, ARG(0, SCMP_CMP_EQ, PRIO_PROCESS, 0), ARG(1, SCMP_CMP_EQ, 0, 0)),
};

#if defined(__SANITIZE_ADDRESS__)
/* SAN=1 builds only: __SANITIZE_ADDRESS__ is defined with
 * -fsanitize=address, never in a product image. What the sanitizer
 * runtimes need: to report, ASan reads /proc/self/maps and the image
 * (symbolization), asks isatty whether to colour, and opens its log_path
 * file; LeakSanitizer, at exit, makes the process dumpable for a moment,
 * starts a tracer task that is not a thread (clone without CLONE_THREAD),
 * lists the threads from /proc/self/task, ptraces each, and waits for the
 * tracer. Its tracer runs with SIGSYS blocked: a call missing here kills it
 * without a report, and the TA then hangs at exit until the node's SIGKILL
 * (docs/confinement.md, "SAN builds"). */
static const struct rule extra_rules[] = {
    ALLOW(open),
    ALLOW(openat),
    ALLOW(readlink), /* /proc/self/exe, to name the image in a report's stack */
    ALLOW(stat),     /* LSan's suppressions file, read once it found a leak */
    ALLOW(getdents),
    ALLOW(prctl),
    ALLOW(ptrace),
    ALLOW(wait4),
    ALLOW(getppid),
    ALLOW(sigaltstack),
    ALLOW(sched_getaffinity), /* pthread_getattr_np, for each new thread's stack */
    ALLOW_IF(ioctl, ARG(1, SCMP_CMP_EQ, TCGETS, 0)), /* isatty: colours of a report */
    ALLOW_IF(clone, ARG(0, SCMP_CMP_EQ, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, 0)),
};
#else
/* Files: a TA opens none. glibc opens one lazily on its own
 * (/proc/sys/vm/overcommit_memory, when a thread's heap shrinks) and copes
 * with a refusal: an error, not a kill, keeps such library paths alive
 * while every file stays closed to the TA. */
static const struct rule extra_rules[] = {
    REFUSE(open, EACCES),
    REFUSE(openat, EACCES),
    REFUSE(openat2, EACCES),
    REFUSE(creat, EACCES),
};
#endif

static pid_t self_pid;
static int report_fd = -1;

/* SIGSYS from the filter. Async-signal-safe, and only calls the filter
 * allows: leave the call's number for the node (tee/sim/common/report.h), then
 * die of SIGSYS. SA_RESETHAND made the disposition default and SA_NODEFER
 * left the signal unblocked, so tgkill kills the process at once. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    struct talos_sim_report r = {si->si_syscall, si->si_arch};

    (void)uc;
    if (report_fd >= 0)
        (void)!write(report_fd, &r, sizeof(r));
    syscall(SYS_tgkill, self_pid, syscall(SYS_gettid), sig);
    syscall(SYS_exit_group, 128 + SIGSYS); /* not reached */
}

/* fd 5 is the report pipe when the node launched us; a TA started any
 * other way reports nothing. */
static int report_pipe(void)
{
    struct stat st;

    if (fstat(TALOS_SIM_FD_REPORT, &st) == 0 && S_ISFIFO(st.st_mode))
        return TALOS_SIM_FD_REPORT;
    return -1;
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp cmp[2];
        int rc = 0;

        memcpy(cmp, r[i].cmp, sizeof(cmp));
        for (unsigned k = 0; k < r[i].ncmp; k++)
            if (cmp[k].datum_a == SELF)
                cmp[k].datum_a = (scmp_datum_t)self_pid;
        if ((rc = seccomp_rule_add_array(ctx, r[i].action, r[i].nr, r[i].ncmp, cmp)) != 0) {
            TLOG_ERR("sim: cannot confine this TA: rule for system call %d: %s", r[i].nr,
                     strerror(-rc));
            return rc;
        }
    }
    return 0;
}

#ifdef TALOS_BENCH_ICOUNT
/* Bench-only (-DTALOS_BENCH_ICOUNT): linked into the images
 * build/bench/ta/<ta>-icount.ta and <ta>-nomig-icount.ta alone, which
 * bench/icount.sh runs under valgrind's callgrind to count the instructions
 * of an ecall with and without migration support. Valgrind implements no
 * seccomp call (the product images stop here with "cannot confine this
 * TA"), and its own system calls (translation cache mapped executable, its
 * output file opened at exit) are what the filter forbids; so these images
 * skip this one step, the filter, and nothing else: the launcher's steps
 * (another user, namespaces, no_new_privs, no core) and every step above
 * still run.
 *
 * Why it is safe: no product image contains this code. The define is set
 * only by the Makefile's $(O)/icount/ rule; the product confine.o is
 * compiled without it and no variable or file switches it at run time, so
 * a node cannot make kvstore.ta skip its filter. An icount image is another
 * image: its measurement differs, so it gets other seal keys and no
 * verifier that expects the product measurement accepts its evidence.
 *
 * Why it measures the same path: such an image links the runtime objects
 * of the product (libtalos_ta.a) or of the -nomig bench image
 * (libtalos_ta_nomig.a) and the TA's own, except this file and two
 * compiled again from the same source with the same flags but for the
 * arena's address (ta/entry.c maps it, enclave.c names it): 32 GiB instead
 * of 64 GiB, where valgrind keeps its own memory. That constant is used at
 * start-up and by introspection, never on the ecall path, and this file
 * runs once at start-up. Instead of the filter, callgrind's instrumentation
 * starts here (a no-op outside valgrind; bench/icount.sh runs with
 * --instr-atstart=no so that the host's start-up costs less). */
static int bench_icount_no_filter(void)
{
    TLOG_WARN("sim: bench-only icount image: NO system call filter (bench/icount.sh)");
    CALLGRIND_START_INSTRUMENTATION;
    return 0;
}
#endif

static int load_filter(void)
{
    scmp_filter_ctx ctx = NULL;
    int rc = -ENOMEM;

#ifdef TALOS_BENCH_ICOUNT
    return bench_icount_no_filter();
#endif
    if (!(ctx = seccomp_init(SCMP_ACT_TRAP)))
        goto out;
    /* Every thread, should one ever exist this early. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
        (rc = add_rules(ctx, allowlist, sizeof(allowlist) / sizeof(allowlist[0]))) != 0)
        goto out;
    if ((rc = add_rules(ctx, extra_rules, sizeof(extra_rules) / sizeof(extra_rules[0]))) != 0)
        goto out;
    if ((rc = seccomp_load(ctx)) != 0)
        TLOG_ERR("sim: cannot confine this TA: loading the system call filter: %s",
                 strerror(-rc));
out:
    seccomp_release(ctx);
    return rc;
}

int talos_sim_confine(void)
{
    struct sigaction sa;

    self_pid = getpid();
    /* Open what cannot be opened later, while the files are still ours. */
    if (talos_self_preopen() != TALOS_OK)
        return TALOS_ERR_STATE;
    tzset(); /* OpenSSL's certificate times read /etc/localtime on first use */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        TLOG_ERR("sim: cannot confine this TA: PR_SET_DUMPABLE: %s", strerror(errno));
        return TALOS_ERR_BACKEND;
    }
    report_fd = report_pipe();
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        TLOG_ERR("sim: cannot confine this TA: SIGSYS handler: %s", strerror(errno));
        return TALOS_ERR_BACKEND;
    }
    return load_filter() == 0 ? TALOS_OK : TALOS_ERR_BACKEND;
}
