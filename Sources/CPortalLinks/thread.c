#define _GNU_SOURCE
#include "portal_thread.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int pl_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
