// The hypervisor-side partition model: VP architectural registers, saved by the hypervisor.
export { HvPartition, HvStateSchema, HV_DESCRIPTOR, currentHv, hvGenerationOf } from './partition.ts';
export { hvByName, hvFromNamed, hvView, sameTypedHv, type HvState, type HvNamedState } from './layout.ts';
export { X86_REGISTERS, AARCH64_REGISTERS, resetRegisters, registerByCode } from './registers.ts';
