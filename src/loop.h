/*
 * loop: the main thread's event loop (libuv) and the one way other threads
 * talk to it.
 *
 * The main thread owns every libuv handle (stdin, signals, sockets, the SDL
 * pump). vCPU, timer and block-worker threads never call libuv: they hand a
 * function to loop_defer(), which queues it and wakes the loop. Devices never
 * include uv.h; host-side modules (chardev, net back-ends, ui) may use
 * loop_uv() to register their own handles.
 *
 * SIGINT and SIGTERM are delivered to the handler set with loop_on_signal()
 * on the loop thread, so shutdown is orderly (terminal restored, disks
 * flushed, undo disks resolved).
 */
#ifndef LODGE_LOOP_H
#define LODGE_LOOP_H

struct loop;
typedef void loop_fn(void *arg);
typedef void loop_signal_fn(void *arg, int signo);

struct loop *loop_create(void);
/* Loop thread, after loop_run() returned. */
void loop_destroy(struct loop *loop);
/* Runs until loop_stop(); returns 0. */
int loop_run(struct loop *loop);
/* Any thread. */
void loop_stop(struct loop *loop);
/* Any thread: run fn(arg) on the loop thread soon. Returns 0 or -ENOMEM. */
int loop_defer(struct loop *loop, loop_fn *fn, void *arg);
/* Loop thread: fn is called for SIGINT and SIGTERM. */
void loop_on_signal(struct loop *loop, loop_signal_fn *fn, void *arg);
/* The uv_loop_t, for host-side modules only (never for devices). */
void *loop_uv(struct loop *loop);

#endif
