import { create, createFileRegistry, type DescMessage } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema, type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

/**
 * The protobuf schema of the shim persisted-state payload, written from openvmm's
 * `loader_defs::shim::save_restore` (vm/loader/loader_defs/src/shim.rs) and `MemoryRange`
 * (vm/vmcore/memory_range/src/lib.rs, package `topology`), as the descriptors mesh_protobuf
 * derives: `SavedState {1 partition_memory, 2 partition_mmio, 3 cpus_with_mapped_interrupts_no_io,
 * 4 cpus_with_outstanding_io}`. Built as FileDescriptorProtos for @bufbuild/protobuf's reflection
 * API, so no generated code and no hand-written wire format.
 */

const OPTIONAL = Label.OPTIONAL;
const REPEATED = Label.REPEATED;
type FieldSpec = [name: string, number: number, type: Type, label: Label, typeName?: string];

function message(name: string, fields: FieldSpec[]) {
  return {
    name,
    field: fields.map(([fname, number, type, label, typeName]) => ({
      name: fname, number, type, label, jsonName: fname.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      ...(typeName === undefined ? {} : { typeName }),
    })),
  };
}

const topologyFile: FileDescriptorProto = create(FileDescriptorProtoSchema, {
  name: 'topology.proto', package: 'topology', syntax: 'proto3',
  messageType: [message('MemoryRange', [['start', 1, Type.UINT64, OPTIONAL], ['end', 2, Type.UINT64, OPTIONAL]])],
});

/** `MemoryVtlType` (loader_defs shim.rs): what a partition memory or MMIO range is used for. */
export const MEMORY_VTL_TYPE = {
  VTL0: 0, VTL2_RAM: 1, VTL2_CONFIG: 2, VTL2_SIDECAR_IMAGE: 3, VTL2_SIDECAR_NODE: 4, VTL0_MMIO: 5, VTL2_MMIO: 6,
  VTL2_RESERVED: 7, VTL2_GPA_POOL: 8, VTL2_TDX_PAGE_TABLES: 9, VTL2_BOOTSHIM_LOG_BUFFER: 10,
  VTL2_PERSISTED_STATE_HEADER: 11, VTL2_PERSISTED_STATE_PROTOBUF: 12,
} as const;

const bootFile: FileDescriptorProto = create(FileDescriptorProtoSchema, {
  name: 'openhcl_boot.proto', package: 'openhcl.openhcl_boot', syntax: 'proto3', dependency: ['topology.proto'],
  enumType: [{ name: 'MemoryVtlType', value: Object.entries(MEMORY_VTL_TYPE).map(([name, number]) => ({ name, number })) }],
  messageType: [
    // IgvmMemoryType is a newtype over igvm_defs::MemoryMapEntryType (u16), field 1.
    message('IgvmMemoryType', [['value', 1, Type.UINT32, OPTIONAL]]),
    message('MemoryEntry', [
      ['range', 1, Type.MESSAGE, OPTIONAL, '.topology.MemoryRange'], ['vnode', 2, Type.UINT32, OPTIONAL],
      ['vtl_type', 3, Type.ENUM, OPTIONAL, '.openhcl.openhcl_boot.MemoryVtlType'],
      ['igvm_type', 4, Type.MESSAGE, OPTIONAL, '.openhcl.openhcl_boot.IgvmMemoryType'],
    ]),
    message('MmioEntry', [
      ['range', 1, Type.MESSAGE, OPTIONAL, '.topology.MemoryRange'],
      ['vtl_type', 2, Type.ENUM, OPTIONAL, '.openhcl.openhcl_boot.MemoryVtlType'],
    ]),
    message('SavedState', [
      ['partition_memory', 1, Type.MESSAGE, REPEATED, '.openhcl.openhcl_boot.MemoryEntry'],
      ['partition_mmio', 2, Type.MESSAGE, REPEATED, '.openhcl.openhcl_boot.MmioEntry'],
      ['cpus_with_mapped_interrupts_no_io', 3, Type.UINT32, REPEATED],
      ['cpus_with_outstanding_io', 4, Type.UINT32, REPEATED],
    ]),
  ],
});

const registry = createFileRegistry(bootFile, (name) => (name === topologyFile.name ? topologyFile : undefined));

function need(name: string): DescMessage {
  const d = registry.getMessage(name);
  if (d === undefined) throw new TypeError(`persisted-state schema: message ${name} is missing`);
  return d;
}

/** The `openhcl.openhcl_boot.SavedState` message descriptor. */
export const SAVED_STATE_DESC: DescMessage = need('openhcl.openhcl_boot.SavedState');
