import { UNIT_DESCRIPTORS } from '../hcl/index.ts';
import { HV_DESCRIPTOR } from '../hv/index.ts';
import { UnitRegistry } from '../state/index.ts';

/** The registry of every openvmm_hcl unit plus the hypervisor state: what a snapshot may hold. */
export function defaultRegistry(): UnitRegistry {
  return new UnitRegistry(UNIT_DESCRIPTORS, HV_DESCRIPTOR);
}
