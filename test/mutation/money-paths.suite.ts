/**
 * The suites `npm run mutation` runs against every mutant of the money paths, as one Jest test
 * file. Stryker's Jest runner starts every file of its testMatch for each mutant (narrowed by
 * test name to the tests that cover the mutant, not by file), and each file imports the AWS
 * SDK, dynalite and the domain afresh: one file that imports the suites pays that once per
 * mutant instead of once per suite. Each suite is still a `*.test.ts` file that `npm test`
 * runs on its own; this file is not one (it is named `.suite.ts`).
 */
import '../money-unit/conclude-extension.test.js';
import '../money-unit/end-lease.test.js';
import '../money-unit/extend-lease.test.js';
import '../money-unit/place-order.test.js';
import '../money-unit/refund-failed-lease.test.js';
import '../money-unit/settle-payment.test.js';
import '../money-unit/sweep-payments.test.js';
import '../store/end-lease-races.test.js';
import '../store/lease-lifecycle-writes.test.js';
import '../store/machine-store.test.js';
import '../store/order-store.test.js';
import '../store/ready-races.test.js';
import '../store/refund-records.test.js';
import '../store/refunds.test.js';
import '../unit/extension-refund.test.js';
