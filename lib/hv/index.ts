// The hypervisor-side partition model: VP architectural registers, saved by the hypervisor.
export { HvPartition, HvStateSchema, HV_DESCRIPTOR, type HvState } from './partition.ts';
export { X86_REGISTERS, AARCH64_REGISTERS, resetRegisters, registerByCode } from './registers.ts';
