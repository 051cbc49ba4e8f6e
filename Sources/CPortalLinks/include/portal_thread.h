#ifndef PORTAL_THREAD_H
#define PORTAL_THREAD_H

/// Sets the calling thread's nice value (Linux schedules threads one by one). Returns 0 on success.
int pl_set_thread_nice(int nice);

/// Puts the calling thread in SCHED_IDLE: it runs only on CPU time no normal thread wants. Returns 0 on success.
int pl_set_thread_idle_priority(void);

#endif
