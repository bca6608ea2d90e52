/*
 * drives: the disks a VM file or the command line attaches to the IDE
 * positions, opened at power-on into m->drive[0..3] for the disk controller,
 * and the undo disks behind them, resolved at power-off.
 */
#ifndef LODGE_DISK_DRIVES_H
#define LODGE_DISK_DRIVES_H

struct machine;

/*
 * Main thread, from board_pc_build before the controllers are created:
 * open every configured drive (creating or continuing undo disks). 0, or
 * -EINVAL after logging one sentence for bad user input (missing or broken
 * image, an image in use), -ENOMEM.
 */
int drives_open(struct machine *m);
/*
 * Main thread, from machine_destroy after the vCPUs stopped, the devices
 * were destroyed and the terminal is back in normal mode: close the drives,
 * then commit, discard or keep the undo disks (asking on a terminal).
 */
void drives_close(struct machine *m);

#endif
