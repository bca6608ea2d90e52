/*
 * vcpu: one host thread per virtual CPU and the state machine that lets the
 * main thread pause, resume and stop it.
 *
 *   CREATED --start--> RUNNING <--pause/resume--> PAUSED
 *                         \-----------stop---------> STOPPED
 *
 * Requests are posted to a mailbox and the vCPU is kicked out of the engine;
 * it acknowledges at the top of its loop, outside any device code. The main
 * thread must not hold the device lock while waiting for an acknowledgement.
 */
#ifndef LODGE_VCPU_H
#define LODGE_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct machine;

enum vcpu_state { VCPU_CREATED, VCPU_RUNNING, VCPU_PAUSED, VCPU_STOPPED };
enum vcpu_request { VCPU_REQ_NONE, VCPU_REQ_PAUSE, VCPU_REQ_STOP };

struct vcpu {
	struct machine *m;
	unsigned index;                 /* also the initial APIC ID */
	void *accel;                    /* the engine's per-vCPU state */
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vcpu_state state;          /* under lock */
	_Atomic int request;            /* enum vcpu_request */
	bool woken;                     /* under lock: vcpu_kick since last HLT wait */
};

int vcpu_create_all(struct machine *m);
void vcpu_destroy_all(struct machine *m);
/* Main thread. */
int vcpu_start_all(struct machine *m);
void vcpu_pause_all(struct machine *m);
void vcpu_resume_all(struct machine *m);
void vcpu_stop_all(struct machine *m);
/* Any thread: interrupt the engine and wake an idle vCPU. */
void vcpu_kick(struct vcpu *v);

#endif
