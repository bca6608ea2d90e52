/*
 * accel: choosing the execution engine (see accel.h).
 *
 * `auto` uses KVM only when the host CPU advertises VT-x/AMD-V and /dev/kvm
 * opens. A /dev/kvm without vmx/svm in /proc/cpuinfo exists on some nested or
 * paravirtualised hosts (e.g. the kvm_pvm module); it runs real mode, flat
 * protected mode and long mode about a thousand times slower than hardware and
 * cannot run 32-bit paging, so auto prefers the software CPU there and says so.
 */
#include "cpu/accel.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"

bool accel_host_has_hw_virt(void)
{
	FILE *fp = fopen("/proc/cpuinfo", "r");
	if (!fp)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
	}
	fclose(fp);
	return found;
}

const struct accel_ops *accel_choose(int choice, char *why, size_t len)
{
	char kvm_why[256] = "";
	switch (choice) {
	case ACCEL_KVM:
		if (accel_kvm.probe(why, len))
			return NULL;
		if (!accel_host_has_hw_virt())
			log_warn("accel", "/dev/kvm is not backed by VT-x/AMD-V on this host "
				 "(no vmx/svm in /proc/cpuinfo); guests will run very slowly "
				 "and 32-bit paging may not work");
		return &accel_kvm;
	case ACCEL_EMU:
		if (accel_emu.probe(why, len))
			return NULL;
		return &accel_emu;
	default:
		break;
	}
	bool hw = accel_host_has_hw_virt();
	if (hw && accel_kvm.probe(kvm_why, sizeof(kvm_why)) == 0) {
		log_info("accel", "using KVM (hardware virtualization)");
		return &accel_kvm;
	}
	if (!hw && accel_kvm.probe(kvm_why, sizeof(kvm_why)) == 0)
		log_info("accel", "/dev/kvm is present but not hardware-backed (no vmx/svm in "
			 "/proc/cpuinfo); using the software CPU");
	else if (hw)
		log_info("accel", "hardware virtualization is unavailable (%s); using the "
			 "software CPU", kvm_why);
	else
		log_info("accel", "no hardware virtualization on this host; using the software CPU");
	if (accel_emu.probe(why, len))
		return NULL;
	return &accel_emu;
}
