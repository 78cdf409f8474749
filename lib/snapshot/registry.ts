import { UNIT_DESCRIPTORS, UNIT_SET_HISTORY } from '../hcl/index.ts';
import { HV_DESCRIPTOR } from '../hv/index.ts';
import { UnitRegistry } from '../state/index.ts';

/** The registry of every openvmm_hcl unit (and the retired ones older snapshots hold) plus the hypervisor state: what a snapshot may hold. */
export function defaultRegistry(): UnitRegistry {
  return new UnitRegistry(UNIT_DESCRIPTORS, HV_DESCRIPTOR, UNIT_SET_HISTORY);
}
