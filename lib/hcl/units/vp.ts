import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `vp`: openvmm_hcl's per-VP bookkeeping (not the architectural registers, which the hypervisor
 * saves): run state, active VTL, pending events and interrupts, whether the VP runs in Linux or
 * in the sidecar kernel, and whether the guest halted it.
 */

/** Hyper-V exception/interrupt event kinds a VP can have pending. */
export const VpEventKindSchema = Type.Union([Type.Literal('nmi'), Type.Literal('exception'), Type.Literal('intercept')]);

/** One VP's saved state. */
export const VpEntrySchema = Type.Object({
  index: field(1, uint(32, 'VP index')),
  /** reset: never started; running; stopped: paused by the paravisor (servicing). */
  runState: field(2, Type.Union([Type.Literal('reset'), Type.Literal('running'), Type.Literal('stopped')])),
  vtl: field(3, Type.Union([Type.Literal(0), Type.Literal(2)])),
  role: field(4, Type.Union([Type.Literal('linux'), Type.Literal('sidecar')])),
  halted: field(5, Type.Boolean()),
  pendingEvents: field(6, Type.Array(Type.Object({ kind: field(1, VpEventKindSchema), vector: field(2, uint(8)) }))),
  /** Pending fixed interrupt vectors (16..255), ascending, no duplicates. */
  pendingInterrupts: field(7, Type.Array(Type.Integer({ minimum: 16, maximum: 255 }))),
});
export type VpEntry = Static<typeof VpEntrySchema>;

/** The `vp` unit's saved state. */
export const VpStateSchema = Type.Object({ vps: field(1, Type.Array(VpEntrySchema)) });
export type VpState = Static<typeof VpStateSchema>;

/** Descriptor of the `vp` unit. */
export const VP_UNIT: UnitDescriptor = {
  name: 'vp',
  package: 'openvmm.vp',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(VpStateSchema) }, fieldsGeneration(VpStateSchema)],
};

/** Per-VP run state of the paravisor; operations mirror what the VP loop and APIC emulation do. */
export class VpUnit extends UnitBase<VpState> {
  constructor(ctx: UnitContext) {
    super(VP_UNIT, ctx);
  }

  defaultState(): VpState {
    return {
      vps: this.ctx.topology.vps.map((v) => ({
        index: v.index,
        runState: 'reset' as const,
        vtl: 0 as const,
        role: 'linux' as const,
        halted: false,
        pendingEvents: [],
        pendingInterrupts: [],
      })),
    };
  }

  /** Marks a not-yet-started VP as a sidecar VP (the shim's split, applied at boot). */
  assignSidecar(vp: number): void {
    const e = this.#vp(vp, 'assign sidecar');
    if (e.runState !== 'reset') throw this.invalid(`assign sidecar: vp ${vp} already started`);
    e.role = 'sidecar';
  }

  /** Onlines a sidecar VP into Linux; one way, as in OpenHCL. */
  convertToLinux(vp: number): void {
    const e = this.#vp(vp, 'convert');
    if (e.role !== 'sidecar') throw this.invalid(`convert: vp ${vp} is already a linux vp`);
    e.role = 'linux';
  }

  /**
   * Post-restore fix-up: where a VP runs (Linux or sidecar) is decided by the boot that just
   * happened (the shim's split, CPUs with outstanding I/O, OPENHCL_SIDECAR), not by the snapshot.
   */
  applyBootRoles(linux: ReadonlySet<number>): void {
    for (const e of this.state.vps) e.role = linux.has(e.index) ? 'linux' : 'sidecar';
  }

  /** Starts a VP in reset (startup IPI) or resumes a stopped one. */
  run(vp: number): void {
    const e = this.#vp(vp, 'run');
    if (e.runState === 'running') throw this.invalid(`run: vp ${vp} is already running`);
    e.runState = 'running';
  }

  /** Guest executed HLT: the VP waits for an interrupt. */
  halt(vp: number): void {
    const e = this.#running(vp, 'halt');
    e.halted = true;
  }

  /** Queues a fixed interrupt; a halted VP wakes up. Duplicates coalesce as in an IRR. */
  raiseInterrupt(vp: number, vector: number): void {
    const e = this.#vp(vp, 'raise interrupt');
    if (!Number.isInteger(vector) || vector < 16 || vector > 255) throw this.invalid(`raise interrupt: vector ${vector} not in 16..255`);
    if (!e.pendingInterrupts.includes(vector)) {
      e.pendingInterrupts.push(vector);
      e.pendingInterrupts.sort((a, b) => a - b);
    }
    e.halted = false;
  }

  /** Delivers the highest pending vector (APIC priority order) and returns it. */
  acknowledge(vp: number): number {
    const e = this.#running(vp, 'acknowledge');
    const v = e.pendingInterrupts.pop();
    if (v === undefined) throw this.invalid(`acknowledge: vp ${vp} has no pending interrupt`);
    return v;
  }

  /** Queues an event (NMI, exception, intercept) for injection; wakes a halted VP. */
  injectEvent(vp: number, kind: VpEntry['pendingEvents'][number]['kind'], vector: number): void {
    const e = this.#vp(vp, 'inject event');
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw this.invalid(`inject event: vector ${vector} not in 0..255`);
    e.pendingEvents.push({ kind, vector });
    e.halted = false;
  }

  /** Injects the oldest pending event. */
  deliverEvent(vp: number): void {
    const e = this.#running(vp, 'deliver event');
    if (e.pendingEvents.shift() === undefined) throw this.invalid(`deliver event: vp ${vp} has no pending event`);
  }

  /** Switches the VP's active VTL (a VTL call or return). */
  switchVtl(vp: number, vtl: 0 | 2): void {
    const e = this.#running(vp, 'switch vtl');
    if (e.vtl === vtl) throw this.invalid(`switch vtl: vp ${vp} already in vtl${vtl}`);
    e.vtl = vtl;
  }

  /** Pauses every running VP before a save. */
  stop(): void {
    for (const e of this.state.vps) if (e.runState === 'running') e.runState = 'stopped';
  }

  /** Resumes every VP the paravisor stopped. */
  start(): void {
    for (const e of this.state.vps) if (e.runState === 'stopped') e.runState = 'running';
  }

  protected override rehydrate(s: VpState): VpState {
    return { vps: this.restoreVps(s.vps, (e) => e.index, this.defaultState().vps) };
  }

  #vp(vp: number, where: string): VpEntry {
    this.checkVp(vp, where);
    return this.at(this.state.vps, vp, 'vp');
  }

  #running(vp: number, where: string): VpEntry {
    const e = this.#vp(vp, where);
    if (e.runState !== 'running') throw this.invalid(`${where}: vp ${vp} is not running (${e.runState})`);
    return e;
  }
}
