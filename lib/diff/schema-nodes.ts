/**
 * The field-by-field comparison behind `schema check`, on the JSON Schema nodes of a schema dump
 * (lib/state/registry.ts `jsonSchema`: u64 and bytes marked by `x-encoding`, bounds of u64 as
 * decimal strings, enums as `anyOf` of `const`, optional fields absent from `required`).
 *
 * Objects whose properties carry field numbers (generation 3 on, lib/state/fields.ts) are judged
 * by OpenVMM's save-state rules (Guide, dev_guide/contrib/save-state.md, protobuf underneath):
 * fields match by number, so a rename is harmless; a missing field reads as its default, so an
 * added field is compatible unless it is an enum or a fixed-size array that is not optional; a
 * removed number must be reserved, a reserved number never comes back; defaults cannot change
 * (they are the types' zero values), an enum value is its number (explicit, or its position in a
 * plain union) and a number keeps its value for good, and signedness is type.
 */
import { enumNumbers } from '../state/index.ts';

/** Compatibility direction a change breaks. */
export type Direction = 'backward' | 'forward';

/** Every kind of schema change the check knows; the first group breaks, the second does not. */
export type SchemaChangeKind =
  | 'unit-removed' | 'package-renamed' | 'generation-not-bumped' | 'generation-decreased'
  | 'field-removed' | 'field-retyped' | 'field-added-required' | 'field-added-no-default'
  | 'field-became-required' | 'field-became-optional' | 'enum-narrowed' | 'variant-removed'
  | 'bounds-narrowed' | 'default-changed' | 'field-number-reused' | 'field-added-not-optional' | 'message-renamed'
  | 'enum-renumbered' | 'enum-number-reused'
  | 'unit-added' | 'unit-retired' | 'field-added-optional' | 'enum-widened' | 'variant-added' | 'bounds-widened'
  | 'wire-numbered' | 'field-renamed' | 'field-added' | 'field-removed-reserved' | 'variant-renamed';

/** Receives one finding; `breaks` empty means compatible. */
export type Emit = (path: string, kind: SchemaChangeKind, breaks: Direction[], message: string) => void;

type Node = Record<string, unknown>;
/** How the bytes of the compared schemas name fields: by property name, or by field number. */
type Wire = 'names' | 'fields';

const asNode = (v: unknown): Node => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : {});
const members = (n: Node): Node[] => (Array.isArray(n['anyOf']) ? n['anyOf'].map(asNode) : []);
const show = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

/** The type of a node as one label: `u64`, `bytes`, `integer`, `enum`, `union`, `object`, `record`, … */
export function typeLabel(n: Node): string {
  if ('const' in n) return 'enum';
  if ('anyOf' in n) return members(n).every((m) => 'const' in m) ? 'enum' : 'union';
  const t = n['type'];
  if (t === 'integer' && n['x-encoding'] === 'u64') return 'u64';
  if (t === 'string' && n['x-encoding'] === 'bin') return 'bytes';
  if (t === 'object' && 'patternProperties' in n) return 'record';
  return typeof t === 'string' ? t : 'any';
}

function enumValues(n: Node): string[] {
  return 'const' in n ? [show(n['const'])] : members(n).map((m) => show(m['const']));
}

// Bounds where a larger value is narrower, and where a smaller one is.
const LOWER = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minByteLength'];
const UPPER = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxByteLength'];

function num(v: unknown): bigint | null {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

function compareBounds(o: Node, n: Node, path: string, emit: Emit): void {
  for (const key of [...LOWER, ...UPPER]) {
    const [a, b] = [o[key], n[key]];
    if (show(a) === show(b)) continue;
    const lower = LOWER.includes(key);
    const [x, y] = [num(a), num(b)];
    // A bound that appears narrows; one that disappears widens; otherwise the direction decides.
    const narrower = a === undefined ? true : b === undefined ? false : x !== null && y !== null ? (lower ? y > x : y < x) : true;
    if (narrower) {
      emit(path, 'bounds-narrowed', ['backward'], `${key} ${show(a)} → ${show(b)}: state the old release wrote may lie outside the new bound`);
    } else {
      emit(path, 'bounds-widened', [], `${key} ${show(a)} → ${show(b)}: old state still fits; an older release refuses values outside its bound`);
    }
  }
  if (show(o['pattern']) !== show(n['pattern'])) {
    if (n['pattern'] === undefined) emit(path, 'bounds-widened', [], `pattern ${show(o['pattern'])} dropped`);
    else emit(path, 'bounds-narrowed', ['backward'], `pattern ${show(o['pattern'])} → ${show(n['pattern'])}: old strings may not match`);
  }
}

/** The key that matches union members across dumps: a discriminating `const` property, else the member's type. */
function unionKeys(all: Node[][]): (m: Node, i: number) => string {
  const flat = all.flat();
  const firstProps = Object.keys(asNode(flat[0]?.['properties']));
  const disc = firstProps.find((p) => flat.every((m) => 'const' in asNode(asNode(m['properties'])[p])));
  if (disc !== undefined) return (m) => `${disc}=${show(asNode(asNode(m['properties'])[disc])['const'])}`;
  const labels = all.map((ms) => ms.map(typeLabel));
  const unique = labels.every((ls) => new Set(ls).size === ls.length);
  return unique ? (m) => typeLabel(m) : (_m, i) => `#${i}`;
}

function compareUnion(o: Node, n: Node, path: string, emit: Emit, wire: Wire): void {
  const [om, nm] = [members(o), members(n)];
  const key = unionKeys([om, nm]);
  // A discriminated variant gets its own path segment: `(arch="x86_64").vps`.
  const at = (k: string) => (!k.includes('=') ? path : path === '(root)' ? `(${k})` : `${path}(${k})`);
  const newByKey = new Map(nm.map((m, i) => [key(m, i), m]));
  const oldKeys = new Set(om.map((m, i) => key(m, i)));
  om.forEach((m, i) => {
    const k = key(m, i);
    const match = newByKey.get(k);
    const sub = at(k);
    if (match === undefined) emit(sub, 'variant-removed', ['backward'], `union variant ${k} removed: state the old release wrote in that variant is refused`);
    else compareNodes(m, match, sub, emit, wire);
  });
  nm.forEach((m, i) => {
    const k = key(m, i);
    if (!oldKeys.has(k)) emit(at(k), 'variant-added', [], `union variant ${k} added: old state still fits; an older release refuses state in the new variant`);
  });
}

const req = (x: Node) => new Set(Array.isArray(x['required']) ? (x['required'] as string[]) : []);
const fieldOf = (n: unknown): number | undefined => (typeof asNode(n)['field'] === 'number' ? (asNode(n)['field'] as number) : undefined);

/** True when every property of an object node carries a field number (and it has at least one). */
export function isNumbered(n: unknown): boolean {
  const props = Object.values(asNode(asNode(n)['properties']));
  return props.length > 0 && props.every((p) => fieldOf(p) !== undefined);
}

// A field whose type has no default cannot be added unless optional (save-state.md "Avoid
// unsupported types"): an enum, or an array or byte string of fixed non-zero size.
function lacksDefault(n: Node): boolean {
  const t = typeLabel(n);
  const min = num(n['minItems'] ?? n['minByteLength']);
  return t === 'enum' || ((t === 'array' || t === 'bytes') && min !== null && min > 0n);
}

const enumMembers = (n: Node): Node[] => ('const' in n ? [n] : members(n));
const reservedOf = (x: Node) => new Set(Array.isArray(x['reserved']) ? (x['reserved'] as number[]) : []);

// A field-numbered enum value is stored as its number (lib/state/fields.ts): what matters is what
// each number means. A value that moved to another number, or a number that now means a value
// the other release has elsewhere or had reserved, reads as a different value: both directions break.
function compareEnumNumbers(o: Node, n: Node, path: string, emit: Emit): void {
  const byNumber = (x: Node) => {
    const ms = enumMembers(x);
    const nums = enumNumbers(ms);
    return new Map(ms.map((m, i) => [nums[i]!, show(m['const'])]));
  };
  const [a, b] = [byNumber(o), byNumber(n)];
  const numberIn = (m: Map<number, string>, v: string) => [...m].find(([, x]) => x === v)?.[0];
  for (const [num, v] of a) {
    const moved = numberIn(b, v);
    if (moved !== undefined && moved !== num) emit(path, 'enum-renumbered', ['backward', 'forward'], `enum value ${v} renumbered ${num} → ${moved}: each release reads the other's ${v} as another value`);
  }
  for (const num of [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y)) {
    const [was, now] = [a.get(num), b.get(num)];
    if (was !== undefined && now !== undefined && was !== now) {
      // Both names still in use elsewhere: the number changed meaning. Otherwise it is a rename.
      if (numberIn(b, was) !== undefined || numberIn(a, now) !== undefined) emit(path, 'enum-number-reused', ['backward', 'forward'], `enum number ${num} meant ${was}, now means ${now}: state the old release wrote reads as the wrong value`);
      else emit(path, 'variant-renamed', [], `enum value ${num} renamed ${was} → ${now}: the number is what the bytes hold`);
    } else if (now === undefined && was !== undefined && numberIn(b, was) === undefined) {
      emit(path, 'enum-narrowed', ['backward'], `enum lost ${was} (value ${num}): old state holding it is refused`);
    } else if (was === undefined && now !== undefined && numberIn(a, now) === undefined) {
      if (reservedOf(o).has(num)) emit(path, 'enum-number-reused', ['backward', 'forward'], `enum number ${num} was reserved: state written while it meant the removed value is misread as ${now}`);
      else emit(path, 'enum-widened', [], `enum gained ${now} (value ${num}): old state still fits; an older release refuses the new value`);
    }
  }
}

function compareFields(o: Node, n: Node, path: string, emit: Emit): void {
  const byNumber = (x: Node) => new Map(Object.entries(asNode(x['properties'])).map(([k, v]) => [fieldOf(v)!, { name: k, node: asNode(v) }]));
  const [om, nm, or, nr] = [byNumber(o), byNumber(n), req(o), req(n)];
  const at = (k: string) => (path === '(root)' ? k : `${path}.${k}`);
  for (const f of [...new Set([...om.keys(), ...nm.keys()])].sort((x, y) => x - y)) {
    const [a, b] = [om.get(f), nm.get(f)];
    if (b === undefined) {
      if (reservedOf(n).has(f)) emit(at(a!.name), 'field-removed-reserved', [], `field ${f} removed and its number reserved: old state's value is an unknown field, ignored; an older release reads its default`);
      else emit(at(a!.name), 'field-removed', ['backward', 'forward'], `field ${f} removed without reserving its number: a later field may reuse ${f} and misread state that holds the old one`);
    } else if (a === undefined) {
      if (reservedOf(o).has(f)) emit(at(b.name), 'field-number-reused', ['backward', 'forward'], `field number ${f} was reserved: state written while it meant the removed field is misread as ${b.name}`);
      else if (nr.has(b.name) && lacksDefault(b.node)) emit(at(b.name), 'field-added-not-optional', ['backward', 'forward'], `new ${typeLabel(b.node)} field ${f} is not optional: it has no default for old state, and an older release cannot read it (wrap it in an Option)`);
      else emit(at(b.name), 'field-added', [], `new field ${f}: old state reads as ${nr.has(b.name) ? 'its default' : 'absent'}, older releases ignore the unknown number`);
    } else {
      if (a.name !== b.name) emit(at(b.name), 'field-renamed', [], `field ${f} renamed ${a.name} → ${b.name}: names are not in the bytes`);
      const optional = (r: Set<string>, k: string) => !r.has(k);
      if (optional(or, a.name) !== optional(nr, b.name) && lacksDefault(b.node)) {
        emit(at(b.name), optional(nr, b.name) ? 'field-became-optional' : 'field-became-required', ['backward', 'forward'], `field ${f} (${typeLabel(b.node)}) changed between optional and required: absent means none to one release and is refused by the other`);
      }
      compareNodes(a.node, b.node, at(b.name), emit, 'fields');
    }
  }
}

function compareObject(o: Node, n: Node, path: string, emit: Emit, wire: Wire): void {
  if (wire === 'fields' || (isNumbered(o) && isNumbered(n))) return compareFields(o, n, path, emit);
  const [op, np] = [asNode(o['properties']), asNode(n['properties'])];
  const [or, nr] = [req(o), req(n)];
  const at = (k: string) => (path === '(root)' ? k : `${path}.${k}`);
  for (const k of [...new Set([...Object.keys(op), ...Object.keys(np)])].sort()) {
    const [a, b] = [op[k], np[k]];
    if (b === undefined) {
      emit(at(k), 'field-removed', ['forward'], or.has(k)
        ? 'required field removed: an older release requires it and refuses state written without it'
        : 'optional field removed: an older release reads its default where the state had a value (a silent change of meaning)');
    } else if (a === undefined) {
      if (nr.has(k)) emit(at(k), 'field-added-required', ['backward'], 'new required field: state written by the old release lacks it and is refused');
      else if (!('default' in asNode(b))) emit(at(k), 'field-added-no-default', ['backward'], 'new optional field without a documented default: what old state means for it is undefined');
      else emit(at(k), 'field-added-optional', [], `new optional field, default ${show(asNode(b)['default'])}: old state reads as the default, older releases ignore it`);
    } else {
      if (!or.has(k) && nr.has(k)) emit(at(k), 'field-became-required', ['backward'], 'optional field became required: old state that omits it is refused');
      if (or.has(k) && !nr.has(k)) emit(at(k), 'field-became-optional', ['forward'], 'required field became optional: new state may omit it and an older release refuses that');
      compareNodes(asNode(a), asNode(b), at(k), emit, wire);
    }
  }
}

/** Compares one schema node of the old dump with the new one at `path`, emitting every change; `wire` is `fields` once inside a field-numbered message. */
export function compareNodes(oldNode: unknown, newNode: unknown, path: string, emit: Emit, wire: Wire = 'names'): void {
  const [o, n] = [asNode(oldNode), asNode(newNode)];
  const [lo, ln] = [typeLabel(o), typeLabel(n)];
  // A union that shrinks to one member (or grows from one) is still compared variant by variant.
  const single = (x: string) => x !== 'union' && x !== 'enum';
  if ((lo === 'union' && single(ln)) || (ln === 'union' && single(lo))) {
    compareUnion(lo === 'union' ? o : { anyOf: [o] }, ln === 'union' ? n : { anyOf: [n] }, path, emit, wire);
    return;
  }
  if (lo !== ln) {
    emit(path, 'field-retyped', ['backward', 'forward'], `type ${lo} → ${ln}: neither release can read the other's value`);
    return;
  }
  // OpenVMM writes i32 as sint32 (zigzag), u32 as uint32: signedness is part of the type.
  const signed = (x: Node) => (num(x['minimum']) ?? 0n) < 0n;
  if (lo === 'integer' && signed(o) !== signed(n)) {
    emit(path, 'field-retyped', ['backward', 'forward'], `${signed(o) ? 'signed' : 'unsigned'} → ${signed(n) ? 'signed' : 'unsigned'} integer: i32 is sint32 on the wire, so the two releases read different numbers`);
    return;
  }
  // With field numbers a default is the type's zero value, so it cannot change.
  if (wire === 'names' && show(o['default']) !== show(n['default'])) {
    emit(path, 'default-changed', ['backward', 'forward'], `default ${show(o['default'])} → ${show(n['default'])}: state that omits the field means different things to the two releases`);
  }
  switch (lo) {
    case 'enum': {
      const [a, b] = [enumValues(o), enumValues(n)];
      if (wire === 'fields') return compareEnumNumbers(o, n, path, emit);
      const lost = a.filter((v) => !b.includes(v));
      const gained = b.filter((v) => !a.includes(v));
      if (lost.length > 0) emit(path, 'enum-narrowed', ['backward'], `enum lost ${lost.join(', ')}: old state holding ${lost.length === 1 ? 'it' : 'them'} is refused`);
      if (gained.length > 0) emit(path, 'enum-widened', [], `enum gained ${gained.join(', ')}: old state still fits; an older release refuses the new values`);
      return;
    }
    case 'union': return compareUnion(o, n, path, emit, wire);
    case 'object': return compareObject(o, n, path, emit, wire);
    case 'record':
      compareNodes(Object.values(asNode(o['patternProperties']))[0], Object.values(asNode(n['patternProperties']))[0], `${path}[*]`, emit, wire);
      return;
    case 'array':
      compareBounds(o, n, path, emit);
      compareNodes(o['items'], n['items'], `${path}[]`, emit, wire);
      return;
    default:
      compareBounds(o, n, path, emit);
  }
}
