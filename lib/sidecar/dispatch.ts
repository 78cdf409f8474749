import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError, isHclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';
import {
  COMMAND, CONTROL, CPU_STATUS, MAX_GET_SET_VP_REGISTERS, REGISTER_REQUEST as REG, SIDECAR_PAGE as PAGE, SIDECAR_COMMAND,
  TRANSLATE_RESPONSE, decodeSidecarParams, encodeSidecarOutput, type SidecarEntry, type SidecarOutput, type SidecarParams,
} from '../abi/index.ts';

/** hvdef HvError::InvalidParameter: the status a refused register access reports. */
export const HV_STATUS_INVALID_PARAMETER = 0x5;

/** What a sidecar CPU does for a VP: the hypervisor side of RUN_VP and register access. */
export interface VpBackend {
  /** Runs the VP once; an intercept message (≤ 256 bytes), or undefined to keep running. */
  run(vp: number): Uint8Array | undefined;
  getRegisters(vp: number, names: number[]): bigint[];
  setRegisters(vp: number, regs: Array<readonly [number, bigint]>): void;
  translateGva(vp: number, gva: bigint): { result: number; gpa: bigint };
}

/** A backend with a register file per VP, a halt intercept on every run and identity GVA mapping. */
export class SimpleVpBackend implements VpBackend {
  readonly registers = new Map<number, Map<number, bigint>>();
  run(vp: number): Uint8Array {
    return new ByteWriter(16).u32(0x8000_0001).u32(vp).u64(0).finish();
  }
  getRegisters(vp: number, names: number[]): bigint[] {
    return names.map((n) => this.registers.get(vp)?.get(n) ?? 0n);
  }
  setRegisters(vp: number, regs: Array<readonly [number, bigint]>): void {
    const file = this.registers.get(vp) ?? new Map<number, bigint>();
    for (const [n, v] of regs) file.set(n, v);
    this.registers.set(vp, file);
  }
  translateGva(_vp: number, gva: bigint): { result: number; gpa: bigint } {
    return { result: 0, gpa: gva };
  }
}

/** Status names by value. */
export type CpuStatusName = keyof typeof CPU_STATUS;
const STATUS_NAME = Object.fromEntries(Object.entries(CPU_STATUS).map(([k, v]) => [v, k])) as Record<number, CpuStatusName>;

/**
 * Starts sidecar as its init.rs does: per node the control page is the first page of node memory,
 * the shared pages (command + register page per VP) follow. Each node's base VP (the kernel
 * starts it) is REMOVED and the others RUN, or with a specified initial state exactly the VPs it
 * marks; each AP then comes up and goes IDLE. A node with no AP to start is refused (the real
 * sidecar panics). Writes and returns SidecarOutput.
 */
export function startSidecar(memory: GuestMemory, params: SidecarParams, outputGpa: bigint, responseVector = 0xf3): SidecarOutput {
  const out: SidecarOutput = { error: '', nodes: [] };
  params.nodes.forEach((n, index) => {
    if (n.memorySize < BigInt((1 + 13 * n.vpCount) * PAGE)) {
      throw new HclError('SIDECAR_INVALID', `sidecar node ${index}: 0x${n.memorySize.toString(16)} bytes of memory for ${n.vpCount} cpus`);
    }
    const page = new Uint8Array(PAGE);
    page.set(new ByteWriter(28).u32(index).u32(n.baseVp).u32(n.vpCount).u32(0).u32(n.baseVp).u32(responseVector).u32(0).finish());
    const state = params.initialState;
    for (let i = 0; i < n.vpCount; i++) {
      const starts = state.specified ? state.startsCpu[n.baseVp + i] === true : i > 0;
      page[CONTROL.cpuStatus + i] = starts ? CPU_STATUS.RUN : CPU_STATUS.REMOVED;
    }
    if (!page.subarray(CONTROL.cpuStatus + 1, CONTROL.cpuStatus + n.vpCount).includes(CPU_STATUS.RUN)) {
      throw new HclError('SIDECAR_INVALID', `sidecar node ${index} (base_vp=${n.baseVp}, vp_count=${n.vpCount}) has no sidecar-started APs`);
    }
    // start_aps: every RUN CPU boots and parks IDLE; the BSP waits until none is RUN.
    for (let i = 0; i < n.vpCount; i++) if (page[CONTROL.cpuStatus + i] === CPU_STATUS.RUN) page[CONTROL.cpuStatus + i] = CPU_STATUS.IDLE;
    memory.write(n.memoryBase, page);
    out.nodes.push({ controlPage: n.memoryBase, shmemBase: n.memoryBase + BigInt(PAGE), shmemSize: BigInt(2 * n.vpCount * PAGE) });
  });
  memory.write(outputGpa, encodeSidecarOutput(out));
  return out;
}

/** The sidecar entry point: reads its parameters page from guest memory and starts (`startSidecar`). */
export const enterSidecar: SidecarEntry = (memory, paramsGpa, outputGpa) => {
  startSidecar(memory, decodeSidecarParams(memory.read(paramsGpa, PAGE)), outputGpa);
};

/** The response of a finished command. */
export interface CommandResponse {
  hasError: boolean;
  error: string;
  data: Uint8Array;
  intercept: Uint8Array;
}

/**
 * The sidecar dispatch model over guest memory: the Linux side submits commands and removes
 * CPUs; `step(vp)` is one iteration of that sidecar CPU's loop. After each command the CPU sets
 * needs_attention and sends an IPI (counted) to response_cpu on response_vector.
 */
export class SidecarDispatcher {
  /** IPIs sent to response CPUs, in order. */
  readonly ipis: Array<{ cpu: number; vector: number }> = [];
  readonly #memory: GuestMemory;
  readonly #nodes: Array<{ base: number; count: number; control: bigint; shmem: bigint }>;
  readonly #backend: VpBackend;
  /** VPs inside a RUN_VP that has not hit an intercept yet (the command word is already NONE). */
  readonly #running = new Set<number>();

  constructor(memory: GuestMemory, params: SidecarParams, output: SidecarOutput, backend: VpBackend = new SimpleVpBackend()) {
    this.#memory = memory;
    this.#backend = backend;
    this.#nodes = params.nodes.map((n, i) => ({ base: n.baseVp, count: n.vpCount, control: output.nodes[i]!.controlPage, shmem: output.nodes[i]!.shmemBase }));
  }

  #where(vp: number): { node: number; control: bigint; slot: number; command: bigint } {
    const node = this.#nodes.findIndex((n) => vp >= n.base && vp < n.base + n.count);
    if (node < 0) throw new HclError('SIDECAR_BAD_STATE', `sidecar: vp ${vp} belongs to no sidecar node`);
    const n = this.#nodes[node]!;
    const slot = vp - n.base;
    return { node, control: n.control, slot, command: n.shmem + BigInt(slot * 2 * PAGE) };
  }
  #u32(gpa: bigint): number { return new ByteReader(this.#memory.read(gpa, 4)).u32(); }
  #setU32(gpa: bigint, v: number): void { this.#memory.write(gpa, new ByteWriter(4).u32(v).finish()); }
  #status(vp: number): number { const w = this.#where(vp); return this.#memory.read(w.control + BigInt(CONTROL.cpuStatus + w.slot), 1)[0]!; }
  #setStatus(vp: number, s: number): void { const w = this.#where(vp); this.#memory.write(w.control + BigInt(CONTROL.cpuStatus + w.slot), Uint8Array.of(s)); }

  /** The CPU's status in its control page. */
  status(vp: number): CpuStatusName {
    return STATUS_NAME[this.#status(vp)] ?? 'REMOVED';
  }

  /** needs_attention of the node holding `vp`. */
  needsAttention(vp: number): number {
    return this.#u32(this.#where(vp).control + BigInt(CONTROL.needsAttention));
  }

  /** Clears needs_attention (the Linux driver did its work). */
  clearAttention(vp: number): void {
    this.#setU32(this.#where(vp).control + BigInt(CONTROL.needsAttention), 0);
  }

  #expect(vp: number, want: number, doing: string): void {
    const s = this.#status(vp);
    if (s !== want) throw new HclError('SIDECAR_BAD_STATE', `sidecar vp ${vp}: cannot ${doing} in state ${STATUS_NAME[s] ?? s}`);
  }

  /** Writes a command and its request data; the CPU must be IDLE; status becomes RUN. */
  submit(vp: number, command: number, request: Uint8Array = new Uint8Array(0)): void {
    this.#expect(vp, CPU_STATUS.IDLE, 'submit a command');
    if (request.length > COMMAND.requestDataSize) throw new HclError('SIDECAR_INVALID', `sidecar vp ${vp}: request of ${request.length} bytes exceeds ${COMMAND.requestDataSize}`);
    const page = this.#where(vp).command;
    this.#memory.zero(page, PAGE);
    this.#setU32(page + BigInt(COMMAND.command), command);
    this.#memory.write(page + BigInt(COMMAND.requestData), request);
    this.#setStatus(vp, CPU_STATUS.RUN);
  }

  /** Asks a running CPU to stop (RUN → STOP); the CPU answers on its next step. */
  stop(vp: number): void {
    this.#expect(vp, CPU_STATUS.RUN, 'stop');
    this.#setStatus(vp, CPU_STATUS.STOP);
  }

  /**
   * One iteration of the sidecar CPU's loop (sidecar vp.rs ap_run): RUN or STOP dispatches the
   * command page (a STOP before the CPU looked still runs the command, RUN_VP then returning at
   * once), REMOVE ends the CPU; returns the status afterwards.
   */
  step(vp: number): CpuStatusName {
    const s = this.#status(vp);
    if (s === CPU_STATUS.RUN || s === CPU_STATUS.STOP) {
      if (this.#running.has(vp) ? this.#runVp(vp, s === CPU_STATUS.STOP) : this.#dispatch(vp, s === CPU_STATUS.STOP)) this.#finish(vp, CPU_STATUS.IDLE);
    } else if (s === CPU_STATUS.REMOVE) this.#finish(vp, CPU_STATUS.REMOVED);
    return this.status(vp);
  }

  #finish(vp: number, next: number): void {
    const w = this.#where(vp);
    this.#setStatus(vp, next);
    this.#setU32(w.control + BigInt(CONTROL.needsAttention), 1);
    this.ipis.push({ cpu: this.#u32(w.control + BigInt(CONTROL.responseCpu)), vector: this.#u32(w.control + BigInt(CONTROL.responseVector)) });
  }

  // RUN_VP until an intercept or a stop; writes RunVpResponse {intercept} and the intercept
  // message. False while the VP keeps running.
  #runVp(vp: number, stopping: boolean): boolean {
    const page = this.#where(vp).command;
    const intercept = stopping ? undefined : this.#backend.run(vp);
    if (intercept === undefined && !stopping) { this.#running.add(vp); return false; }
    this.#running.delete(vp);
    if (intercept !== undefined) this.#memory.write(page + BigInt(COMMAND.intercept), intercept.subarray(0, 256));
    this.#memory.write(page + BigInt(COMMAND.requestData), Uint8Array.of(intercept === undefined ? 0 : 1));
    return true;
  }

  // Takes the command (the word becomes NONE, has_error 0) and runs it; false when RUN_VP keeps running.
  #dispatch(vp: number, stopping: boolean): boolean {
    const page = this.#where(vp).command;
    const command = this.#u32(page + BigInt(COMMAND.command));
    this.#setU32(page + BigInt(COMMAND.command), SIDECAR_COMMAND.NONE);
    this.#memory.write(page + BigInt(COMMAND.hasError), Uint8Array.of(0));
    const data = page + BigInt(COMMAND.requestData);
    const fail = (why: string): void => {
      const msg = new TextEncoder().encode(why).subarray(0, 255);
      this.#memory.write(page + BigInt(COMMAND.hasError), Uint8Array.of(1));
      this.#memory.write(page + BigInt(COMMAND.error), Uint8Array.of(msg.length, ...msg));
    };
    switch (command) {
      case SIDECAR_COMMAND.NONE:
        return true;
      case SIDECAR_COMMAND.RUN_VP:
        return this.#runVp(vp, stopping);
      case SIDECAR_COMMAND.GET_VP_REGISTERS:
      case SIDECAR_COMMAND.SET_VP_REGISTERS:
        this.#registers(vp, data, command === SIDECAR_COMMAND.GET_VP_REGISTERS, fail);
        return true;
      case SIDECAR_COMMAND.TRANSLATE_GVA: {
        const gvn = new ByteReader(this.#memory.read(data, 8)).u64();
        const t = this.#backend.translateGva(vp, gvn);
        const w = new ByteWriter(TRANSLATE_RESPONSE.size).u16(0).zeros(TRANSLATE_RESPONSE.resultCode - 2).u32(t.result);
        w.zeros(TRANSLATE_RESPONSE.gpaPage - TRANSLATE_RESPONSE.resultCode - 4).u64(t.gpa).zeros(8);
        this.#memory.write(data, w.finish());
        return true;
      }
      default:
        fail(`unknown command ${command}`);
        return true;
    }
  }

  // GET/SET_VP_REGISTERS over GetSetVpRegisterRequest + HvRegisterAssoc[count]: register by
  // register, the first one the hypervisor refuses stops the loop and sets `status` (earlier
  // ones stay done); a count that does not fit is a command error.
  #registers(vp: number, data: bigint, get: boolean, fail: (why: string) => void): void {
    const count = new ByteReader(this.#memory.read(data, 2)).u16();
    if (count > MAX_GET_SET_VP_REGISTERS) { fail(`invalid register ${get ? 'name ' : ''}count: ${count}`); return; }
    const status = (v: number): void => this.#memory.write(data + BigInt(REG.status), new ByteWriter(2).u16(v).finish());
    status(0);
    for (let i = 0; i < count; i++) {
      const at = data + BigInt(REG.size + i * REG.assocSize);
      const r = new ByteReader(this.#memory.read(at, REG.assocSize));
      const name = r.u32();
      r.skip(12);
      const value = r.u64() | (r.u64() << 64n);
      try {
        if (get) {
          const v = BigInt.asUintN(128, this.#backend.getRegisters(vp, [name])[0] ?? 0n);
          this.#memory.write(at + BigInt(REG.assocValue), new ByteWriter(16).u64(BigInt.asUintN(64, v)).u64(v >> 64n).finish());
        } else {
          this.#backend.setRegisters(vp, [[name, value]]);
        }
      } catch (e) {
        if (!isHclError(e)) throw e;
        status(HV_STATUS_INVALID_PARAMETER);
        return;
      }
    }
  }

  /** The finished command's response, read back from the command page. */
  response(vp: number): CommandResponse {
    const page = this.#memory.read(this.#where(vp).command, PAGE);
    const errLen = page[COMMAND.error]!;
    return {
      hasError: page[COMMAND.hasError] !== 0,
      error: new TextDecoder().decode(page.subarray(COMMAND.error + 1, COMMAND.error + 1 + errLen)),
      data: page.slice(COMMAND.requestData, COMMAND.requestData + COMMAND.requestDataSize),
      intercept: page.slice(COMMAND.intercept, COMMAND.intercept + 256),
    };
  }

  /**
   * Converts one sidecar CPU to Linux, one-way: IDLE → REMOVE → (the CPU tears down) REMOVED.
   * Returns the VP the kernel stage then onlines (`kernel.onlineCpu(vp)`).
   */
  removeCpu(vp: number): number {
    this.#expect(vp, CPU_STATUS.IDLE, 'remove');
    this.#setStatus(vp, CPU_STATUS.REMOVE);
    this.step(vp);
    return vp;
  }
}
