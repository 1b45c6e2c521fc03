/*
 * x86.h - arch/x86/'s interface to the rest of the hypervisor: the memory
 * layout and build-wide limits (config.h), the architectural facts
 * (x86-defns.h) and the privileged instructions (cpu.h).  Other folders
 * include this header only; C and assembly inside arch/x86/ may include
 * its parts directly.
 */
#ifndef LAMINA_ARCH_X86_H
#define LAMINA_ARCH_X86_H

#include "arch/x86/config.h"
#include "arch/x86/x86-defns.h"
#include "arch/x86/cpu.h"

#endif
