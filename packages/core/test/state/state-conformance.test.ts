import { FileStateStore } from '../../src/state/file-store.js';
import { describeStateStoreConformance } from '../../src/testing/state-conformance.js';
import { tempDir } from '../support/fixtures.js';

// The same suite runs against PostgreSQL in tests/e2e/postgres-store.itg.test.ts.
describeStateStoreConformance('FileStateStore', {
  open: () => new FileStateStore(tempDir()),
  openAnother: (store) => new FileStateStore(store.location),
});
