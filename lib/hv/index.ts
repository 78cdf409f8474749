// The hypervisor-side partition model: VP architectural registers, saved by the hypervisor.
export { HvPartition, HvStateSchema, HV_DESCRIPTOR, currentHv, hvGenerationOf } from './partition.ts';
export { HV_MAX_VPS, hvByName, hvFromNamed, hvView, isTypedHv, sameTypedHv, registerNames, type HvState, type HvNamedState } from './layout.ts';
export { X86_REGISTERS, AARCH64_REGISTERS, resetRegisters, registerByCode } from './registers.ts';
