/**
 * The accepted fixtures (test/config/fixtures/good): `check-config` exits 0 and
 * `serve` with the same file becomes ready — with `${FILES}`, a fake API server
 * and a real OpenID provider standing in for the mounted Secrets, the cluster and the IdP.
 */
import { agreementTests, fixtureCases, readFixtures } from './corpus.js';

agreementTests('check-config and serve on accepted files', fixtureCases(readFixtures('good')));
