/**
 * The refused fixtures about the files a config names — secrets, certificates,
 * keys, CA bundles, the kubeconfig, the audit log: `check-config` reads and
 * checks them as `serve` does, so both refuse, naming the key that names the file.
 */
import { agreementTests, fixtureCases, namesAFile, readFixtures } from './corpus.js';

agreementTests(
  'check-config and serve on refused files: the files a config names',
  fixtureCases(readFixtures('bad').filter(namesAFile)),
);
