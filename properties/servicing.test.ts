import { test } from 'uvu';
import { servicingCycles } from './props/servicing.ts';
import { propertyTests } from './testing.ts';

// servicing-cycles. The planted defect only shows from the second restore on (a restored VM saves a
// short checkpoint), so the shrunk case must keep exactly two cycles.
propertyTests(servicingCycles, 2);

test.run();
