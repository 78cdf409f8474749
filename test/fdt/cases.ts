// Shared table of device tree sources and the trees they must parse to.
import { fdtNode, prop } from '../../lib/fdt/index.ts';
import type { Fdt } from '../../lib/fdt/index.ts';

/** One case: a .dts source for dtc and the tree the model must read from dtc's blob. */
export interface DtsCase {
  name: string;
  source: string;
  tree: Fdt;
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Sources covering every value shape dtc distinguishes, reservations, nesting and shared names. */
export const DTS_CASES: DtsCase[] = [
  {
    name: 'empty root',
    source: '/dts-v1/;\n/ { };\n',
    tree: { bootCpuidPhys: 0, reservations: [], root: fdtNode('') },
  },
  {
    name: 'reservations and cells',
    source: `/dts-v1/;
/memreserve/ 0x1000 0x2000;
/memreserve/ 0xffffffff00000000 0x100;
/ { #address-cells = <2>; #size-cells = <2>;
  memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x10000000>; };
};`,
    tree: {
      bootCpuidPhys: 0,
      reservations: [{ address: 0x1000n, size: 0x2000n }, { address: 0xffffffff00000000n, size: 0x100n }],
      root: fdtNode('', [prop.u32('#address-cells', 2), prop.u32('#size-cells', 2)], [
        fdtNode('memory@40000000', [prop.str('device_type', 'memory'), prop.u64('reg', 0x40000000n, 0x10000000n)]),
      ]),
    },
  },
  {
    name: 'strings, lists, bytes, empty and escapes',
    source: `/dts-v1/;
/ { compatible = "linux,dummy-virt", "x"; model = "a\\tb\\"c\\\\"; empty; raw = [01 02 03];
  word = [de ad be ef]; nul = [00]; twonul = "a", "", ""; sp = " "; bits = /bits/ 64 <0x100000000>;
};`,
    tree: {
      bootCpuidPhys: 0,
      reservations: [],
      root: fdtNode('', [
        prop.strs('compatible', ['linux,dummy-virt', 'x']),
        prop.str('model', 'a\tb"c\\'),
        prop.empty('empty'),
        prop.bytes('raw', bytes(1, 2, 3)),
        prop.bytes('word', bytes(0xde, 0xad, 0xbe, 0xef)),
        prop.bytes('nul', bytes(0)),
        prop.strs('twonul', ['a', '', '']),
        prop.str('sp', ' '),
        prop.u64('bits', 0x100000000n),
      ]),
    },
  },
  {
    name: 'nested cpus with shared property names (suffix sharing in the strings block)',
    source: `/dts-v1/;
/ { #address-cells = <1>; #size-cells = <0>;
  cpus { #address-cells = <1>; #size-cells = <0>;
    cpu@0 { device_type = "cpu"; reg = <0>; numa-node-id = <0>; linux,phandle = <1>; phandle = <1>; };
    cpu@1 { device_type = "cpu"; reg = <1>; numa-node-id = <1>; status = "disabled"; };
  };
  chosen { bootargs = "console=ttyS0 boot_cpus=0"; };
  a { b { c { d { e = <5>; }; }; }; };
};`,
    tree: {
      bootCpuidPhys: 0,
      reservations: [],
      root: fdtNode('', [prop.u32('#address-cells', 1), prop.u32('#size-cells', 0)], [
        fdtNode('cpus', [prop.u32('#address-cells', 1), prop.u32('#size-cells', 0)], [
          fdtNode('cpu@0', [prop.str('device_type', 'cpu'), prop.u32('reg', 0), prop.u32('numa-node-id', 0), prop.u32('linux,phandle', 1), prop.u32('phandle', 1)]),
          fdtNode('cpu@1', [prop.str('device_type', 'cpu'), prop.u32('reg', 1), prop.u32('numa-node-id', 1), prop.str('status', 'disabled')]),
        ]),
        fdtNode('chosen', [prop.str('bootargs', 'console=ttyS0 boot_cpus=0')]),
        fdtNode('a', [], [fdtNode('b', [], [fdtNode('c', [], [fdtNode('d', [prop.u32('e', 5)])])])]),
      ]),
    },
  },
];
