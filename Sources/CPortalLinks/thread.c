#define _GNU_SOURCE
#include "portal_thread.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int pl_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

int pl_set_thread_idle_priority(void) {
    struct sched_param param = { .sched_priority = 0 };
    return sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_IDLE, &param);
}
