/*
 * device: the one descriptor every emulated device provides.
 *
 * A device is a const struct device_desc plus instances on the heap. The
 * board creates instances in a fixed, commented order with machine_add_device();
 * the machine resets and destroys them in reverse order. Devices keep no
 * file-scope state, so a unit test can build as many as it likes.
 *
 * A device reaches the world only through iobus.h, irq.h, vclock.h,
 * guestmem.h, loop.h, chardev.h (and later blk.h, netbe.h, display.h,
 * input.h); never libuv, SDL or a host-driver header.
 */
#ifndef LODGE_DEVICE_H
#define LODGE_DEVICE_H

struct machine;

struct device_desc {
	const char *name;
	/*
	 * Build an instance from params (a device-specific struct, may be NULL).
	 * Main thread, before vCPUs run. Returns NULL after logging one sentence
	 * saying what went wrong.
	 */
	void *(*create)(struct machine *m, const void *params);
	/* Power-on state. Main thread, vCPUs paused, device lock held. */
	void (*reset)(void *dev);
	/* Release everything. Main thread, vCPUs stopped. */
	void (*destroy)(void *dev);
};

#endif
