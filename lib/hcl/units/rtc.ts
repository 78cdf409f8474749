import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, bytes, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `rtc.cmos`: the MC146818 real-time clock and its 128 bytes of CMOS RAM behind index port
 * 0x70 and data port 0x71. Time registers follow register B's binary/BCD and 12/24-hour
 * modes; the alarm fires when seconds, minutes and hours match (0xC0..0xFF = don't care).
 */

/** Bytes of CMOS RAM (the standard bank). */
export const CMOS_SIZE = 128;
/** Clock at first boot: 2024-01-01T00:00:00Z, in ns since the Unix epoch (deterministic). */
export const RTC_EPOCH_NS = 1_704_067_200n * 1_000_000_000n;

const NS = 1_000_000_000n;
const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const CENTURY = 0x32;
const B_SET = 0x80;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_BINARY = 0x04;
const B_24H = 0x02;
const C_IRQF = 0x80;
const C_AF = 0x20;
const C_UF = 0x10;

/** The `rtc.cmos` unit's saved state. */
export const RtcStateSchema = Type.Object({
  cmos: field(1, bytes(CMOS_SIZE, 'CMOS RAM, including the clock registers')),
  index: field(2, uint(8, 'selected CMOS address (port 0x70 bits 0..6)')),
  nmiDisabled: field(3, Type.Boolean({ description: 'port 0x70 bit 7' })),
  clockNs: field(4, u64('current time, ns since the Unix epoch')),
});
export type RtcState = Static<typeof RtcStateSchema>;

/** Descriptor of the `rtc.cmos` unit. */
export const RTC_UNIT: UnitDescriptor = {
  name: 'rtc.cmos',
  package: 'openvmm.rtc.cmos',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(RtcStateSchema) }, fieldsGeneration(RtcStateSchema)],
};

const toBcd = (v: number) => ((Math.floor(v / 10) << 4) | (v % 10)) & 0xff;
const fromBcd = (v: number) => (v >> 4) * 10 + (v & 0x0f);

/** The CMOS RTC. */
export class RtcUnit extends UnitBase<RtcState> {
  constructor(ctx: UnitContext) {
    super(RTC_UNIT, ctx);
  }

  defaultState(): RtcState {
    const cmos = new Uint8Array(CMOS_SIZE);
    cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    cmos[REG_B] = B_24H;
    cmos[REG_D] = 0x80; // valid RAM and time
    const s: RtcState = { cmos, index: 0, nmiDisabled: false, clockNs: RTC_EPOCH_NS };
    this.#writeTime(s);
    return s;
  }

  /** Guest writes port 0x70: bit 7 masks NMI, bits 0..6 select the CMOS address. */
  writeIndex(value: number): void {
    this.#byte(value, 'index');
    this.state.index = value & 0x7f;
    this.state.nmiDisabled = (value & 0x80) !== 0;
  }

  /** Guest reads port 0x71; reading register C acknowledges (clears) its flags. */
  readData(): number {
    const s = this.state;
    const v = s.cmos[s.index] ?? 0;
    if (s.index === REG_C) s.cmos[REG_C] = 0;
    return v;
  }

  /** Guest writes port 0x71. Clearing register B's SET bit loads the clock from the time registers. */
  writeData(value: number): void {
    this.#byte(value, 'data');
    const s = this.state;
    if (s.index === REG_C || s.index === REG_D) return; // read-only status registers
    const wasSet = ((s.cmos[REG_B] ?? 0) & B_SET) !== 0;
    s.cmos[s.index] = value;
    if (s.index === REG_B && wasSet && (value & B_SET) === 0) s.clockNs = this.#readTime();
  }

  /** Advances the clock by `ns`; each second boundary updates the registers and checks the alarm. */
  tick(ns: bigint): void {
    if (ns < 0n) throw this.invalid(`tick: negative duration ${ns}`);
    const s = this.state;
    const before = s.clockNs / NS;
    s.clockNs += ns;
    if (s.clockNs > 0xffff_ffff_ffff_ffffn) throw this.invalid(`tick: clock overflows u64`);
    const after = s.clockNs / NS;
    if (after === before || ((s.cmos[REG_B] ?? 0) & B_SET) !== 0) return;
    let flags = C_UF;
    // The alarm repeats daily, so the last day of crossed seconds is enough to check.
    const first = after - before > 86_400n ? after - 86_399n : before + 1n;
    for (let t = first; t <= after; t++) if (this.#alarmMatches(Number(t % 86_400n))) flags |= C_AF;
    const b = s.cmos[REG_B] ?? 0;
    const irq = ((flags & C_AF) !== 0 && (b & B_AIE) !== 0) || (b & B_UIE) !== 0;
    s.cmos[REG_C] = (s.cmos[REG_C] ?? 0) | flags | (irq ? C_IRQF : 0);
    this.#writeTime(s);
  }

  #alarmMatches(secOfDay: number): boolean {
    const c = this.state.cmos;
    const want = [secOfDay % 60, Math.floor(secOfDay / 60) % 60, Math.floor(secOfDay / 3600)];
    return [1, 3, 5].every((reg, i) => {
      const raw = c[reg] ?? 0;
      if (raw >= 0xc0) return true;
      return this.#decode(raw, reg === 5) === want[i];
    });
  }

  #encode(s: RtcState, v: number, hour = false): number {
    const b = s.cmos[REG_B] ?? 0;
    let h = v;
    let pm = 0;
    if (hour && (b & B_24H) === 0) {
      pm = v >= 12 ? 0x80 : 0;
      h = v % 12 === 0 ? 12 : v % 12;
    }
    return ((b & B_BINARY) !== 0 ? h : toBcd(h)) | pm;
  }

  #decode(raw: number, hour = false): number {
    const b = this.state.cmos[REG_B] ?? 0;
    const pm = hour && (b & B_24H) === 0 && (raw & 0x80) !== 0;
    const bare = hour && (b & B_24H) === 0 ? raw & 0x7f : raw;
    const v = (b & B_BINARY) !== 0 ? bare : fromBcd(bare);
    return hour && (b & B_24H) === 0 ? (v % 12) + (pm ? 12 : 0) : v;
  }

  #writeTime(s: RtcState): void {
    const d = new Date(Number(s.clockNs / 1_000_000n));
    const put = (reg: number, v: number, hour = false) => (s.cmos[reg] = this.#encode(s, v, hour));
    put(0, d.getUTCSeconds());
    put(2, d.getUTCMinutes());
    put(4, d.getUTCHours(), true);
    put(6, d.getUTCDay() + 1);
    put(7, d.getUTCDate());
    put(8, d.getUTCMonth() + 1);
    put(9, d.getUTCFullYear() % 100);
    put(CENTURY, Math.floor(d.getUTCFullYear() / 100));
  }

  #readTime(): bigint {
    const c = this.state.cmos;
    const r = (reg: number, hour = false) => this.#decode(c[reg] ?? 0, hour);
    const ms = Date.UTC(r(CENTURY) * 100 + r(9), r(8) - 1, r(7), r(4, true), r(2), r(0));
    if (!Number.isFinite(ms) || ms < 0) throw this.invalid(`set time: registers do not form a valid date`);
    return BigInt(ms) * 1_000_000n;
  }

  #byte(v: number, where: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw this.invalid(`${where}: value ${v} is not a byte`);
  }
}
