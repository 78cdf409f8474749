// Sparse guest physical memory.
export { GuestMemory, PAGE_SIZE } from './guest.ts';
