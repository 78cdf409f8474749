import { test } from 'uvu';
import { storeModel, storeModelAsync } from './props/store.ts';
import { propertyTests } from './testing.ts';

// store-model: the smallest case of a gc that drops a live blob is "save, gc".
propertyTests(storeModel, 2);
propertyTests(storeModelAsync, 2);

test.run();
