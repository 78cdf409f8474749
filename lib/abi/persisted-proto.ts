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

const MEMORY_VTL_TYPE_NAMES = [
  'VTL0', 'VTL2_RAM', 'VTL2_CONFIG', 'VTL2_SIDECAR_IMAGE', 'VTL2_SIDECAR_NODE', 'VTL0_MMIO', 'VTL2_MMIO',
  'VTL2_RESERVED', 'VTL2_GPA_POOL', 'VTL2_TDX_PAGE_TABLES', 'VTL2_BOOTSHIM_LOG_BUFFER',
  'VTL2_PERSISTED_STATE_HEADER', 'VTL2_PERSISTED_STATE_PROTOBUF',
];

const bootFile: FileDescriptorProto = create(FileDescriptorProtoSchema, {
  name: 'openhcl_boot.proto', package: 'openhcl.openhcl_boot', syntax: 'proto3', dependency: ['topology.proto'],
  enumType: [{ name: 'MemoryVtlType', value: MEMORY_VTL_TYPE_NAMES.map((name, number) => ({ name, number })) }],
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
