import { Type, type Static } from '@sinclair/typebox';

/**
 * The host's VM settings, declared once: the static type, runtime validation (`validate.ts`)
 * and the JSON-Schema dump all come from these declarations. Addresses and sizes are plain
 * JSON integers (byte units, below 2^53). Index fields are positions: VP i is `vps[i]`,
 * vnode n is `numa[n]`.
 */

const Int = (min = 0, max = Number.MAX_SAFE_INTEGER, description?: string) =>
  Type.Integer({ minimum: min, maximum: max, ...(description === undefined ? {} : { description }) });

/** A guest physical range `[base, base + size)`. */
export const RangeSchema = Type.Object(
  { base: Int(0, Number.MAX_SAFE_INTEGER, 'start GPA in bytes'), size: Int(0, Number.MAX_SAFE_INTEGER, 'length in bytes') },
  { additionalProperties: false },
);
export type Range = Static<typeof RangeSchema>;

/** One virtual processor; its VP index is its position in `vps`. */
export const VpSchema = Type.Object(
  {
    reg: Int(0, 0xff_ffff_ffff, 'APIC ID (x86_64) or MPIDR affinity (aarch64)'),
    vnode: Int(0, 63, 'NUMA node the VP belongs to'),
  },
  { additionalProperties: false },
);

/** One NUMA node's VTL0 RAM. */
export const NumaNodeSchema = Type.Object(
  { memory: Type.Array(RangeSchema, { minItems: 1, description: 'VTL0 RAM ranges of this node' }) },
  { additionalProperties: false },
);

/** One NVMe namespace. */
export const NvmeNamespaceSchema = Type.Object(
  { nsid: Int(1, 0xffff_fffe), blocks: Int(1), blockSize: Type.Union([Type.Literal(512), Type.Literal(4096)]) },
  { additionalProperties: false },
);

/** One NVMe controller assigned to VTL2. */
export const NvmeSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, description: 'PCI instance name, unique' }),
    ioQueues: Int(1, 2048, 'number of I/O queue pairs'),
    queueDepth: Int(2, 4096, 'entries per queue'),
    namespaces: Type.Array(NvmeNamespaceSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

/** One 16550 UART. */
export const SerialSchema = Type.Object(
  { port: Type.Union([Type.Literal('com1'), Type.Literal('com2'), Type.Literal('com3'), Type.Literal('com4')]), baud: Int(50, 3_000_000) },
  { additionalProperties: false },
);

/** The kinds of VMBus channels the model offers. */
export const ChannelKindSchema = Type.Union([
  Type.Literal('storvsc'),
  Type.Literal('netvsc'),
  Type.Literal('hvsock'),
  Type.Literal('keyboard'),
  Type.Literal('framebuffer'),
  Type.Literal('vpci'),
]);

/** One VMBus channel offered by the VTL2 VMBus server. */
export const ChannelSchema = Type.Object(
  {
    kind: ChannelKindSchema,
    instanceId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
  },
  { additionalProperties: false },
);

/** aarch64 platform devices (qemu `-M virt` layout by default). */
export const Aarch64PlatformSchema = Type.Object(
  {
    gicVersion: Type.Union([Type.Literal(2), Type.Literal(3)]),
    gicDistributor: Int(0),
    gicRedistributor: Int(0, Number.MAX_SAFE_INTEGER, 'base of the redistributor region (GICv3), 0x20000 per VP'),
    uart: Int(0, Number.MAX_SAFE_INTEGER, 'PL011 base'),
  },
  { additionalProperties: false },
);

/** The whole VM configuration the host starts OpenHCL with. */
export const VmConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'VM name; also the snapshot name' }),
    arch: Type.Union([Type.Literal('x86_64'), Type.Literal('aarch64')]),
    isolation: Type.Union([Type.Literal('none'), Type.Literal('vbs'), Type.Literal('snp'), Type.Literal('tdx')]),
    vps: Type.Array(VpSchema, { minItems: 1, maxItems: 2048 }),
    numa: Type.Array(NumaNodeSchema, { minItems: 1, maxItems: 64 }),
    /** SLIT distance matrix, numa.length squared; absent = 10 on the diagonal, 20 elsewhere. */
    distances: Type.Optional(Type.Array(Type.Array(Int(10, 254)))),
    vtl2: Type.Object(
      {
        mode: Type.Union([Type.Literal('host'), Type.Literal('vtl2')]),
        base: Int(0, Number.MAX_SAFE_INTEGER, 'VTL2 RAM base above VTL0 RAM (host mode), or where in VTL0 RAM the IGVM image is loaded (vtl2 mode)'),
        size: Int(0, Number.MAX_SAFE_INTEGER, 'VTL2 RAM size in bytes (vtl2 mode: the memory-size the host asks the shim to carve)'),
        vnode: Int(0, 63),
      },
      { additionalProperties: false },
    ),
    mmio: Type.Object(
      {
        vtl0: Type.Array(RangeSchema, { minItems: 2, maxItems: 2, description: 'low and high VTL0 MMIO gaps' }),
        vtl2: Type.Optional(Type.Array(RangeSchema, { maxItems: 2, description: 'absent: the shim carves it from vtl0[1]' })),
      },
      { additionalProperties: false },
    ),
    vmbus: Type.Object(
      { vtl0ConnectionId: Int(0, 0xffff_ffff), vtl2ConnectionId: Int(0, 0xffff_ffff) },
      { additionalProperties: false },
    ),
    devices: Type.Object(
      {
        nvme: Type.Array(NvmeSchema),
        serial: Type.Array(SerialSchema),
        channels: Type.Array(ChannelSchema),
      },
      { additionalProperties: false },
    ),
    cmdline: Type.Object(
      {
        static: Type.String({ maxLength: 4092, description: 'static command line in the IGVM (measured)' }),
        policy: Type.Union([Type.Literal('static'), Type.Literal('append-chosen')]),
        host: Type.String({ maxLength: 4096, description: 'host command line: /chosen/bootargs' }),
      },
      { additionalProperties: false },
    ),
    sidecar: Type.Union([Type.Literal('on'), Type.Literal('off'), Type.Literal('log')]),
    keepAlive: Type.Object({ nvme: Type.Boolean() }, { additionalProperties: false }),
    entropy: Type.String({ pattern: '^([0-9a-f]{2})*$', description: 'hex bytes passed in /openhcl/entropy; at most 256 bytes (checked by validate.ts, which names the count)' }),
    aarch64: Type.Optional(Aarch64PlatformSchema),
  },
  { additionalProperties: false, $id: 'VmConfig' },
);

/** The VM configuration, as a TypeScript type. */
export type VmConfig = Static<typeof VmConfigSchema>;
