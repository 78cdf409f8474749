import { MemoryLevel } from 'memory-level';
import { SnapshotStore } from '../../lib/store/index.ts';
import { storeConformance } from './conformance.ts';
import { chunkConformance } from './conformance-chunks.ts';
import { integrityConformance } from './conformance-integrity.ts';

// memory-level implements the same abstract-level contract (sublevels, atomic batches, ordered
// iteration over byte keys) that the store relies on; only locking and persistence are LevelDB's,
// and leveldb.test.ts covers those.
storeConformance('memory-level', () => SnapshotStore.open({ db: new MemoryLevel() })).run();
chunkConformance('memory-level', () => SnapshotStore.open({ db: new MemoryLevel() })).run();
integrityConformance('memory-level', (o = {}) => SnapshotStore.open({ db: new MemoryLevel(), ...o })).run();
