#ifndef PORTAL_THREAD_H
#define PORTAL_THREAD_H

/// Sets the calling thread's nice value (Linux schedules threads one by one). Returns 0 on success.
int pl_set_thread_nice(int nice);

#endif
