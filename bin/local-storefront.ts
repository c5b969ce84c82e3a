/**
 * npm start: the whole storefront on this machine, no AWS account needed.
 *
 *   npm start                      data kept in .data/ (restarts lose nothing)
 *   npm start -- --in-memory       nothing written to disk
 *   npm start -- --fast-clock=60   time runs 60× faster (a 15-minute lease ends in 15 s)
 *   PORT=8080 npm start            another port
 *   HOST=0.0.0.0 npm start -- --public-url=http://192.0.2.10:3000   reachable from elsewhere
 *   ALLOW_UNPAID_MACHINE_CREATE=true npm start
 *   ALLOW_LOSS_MAKING_PRODUCTS=gpu-h100-machine npm start   sell below cost + fee anyway
 *   LOCAL_EC2_VCPU_QUOTAS='{"p":0}' npm start      an account with no GPU quota (orders get 503)
 *   LOCAL_EC2_NOT_OFFERED=p5.4xlarge npm start      an instance type offered in no zone
 *   npm start -- --no-rate-limits  no per-client limits (default: cdk.json's, as the WAF enforces)
 *   node bin/start.mjs --warm-up   build and keep the bundle and the stack, then exit (npm ci runs it)
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PAYMENT_METHODS } from '../lambdas/adapters/payments/payment-methods.js';
import { checkedPublicUrl } from '../lambdas/adapters/ssm/public-url-parameter.js';
import { CatalogError } from '../lambdas/core/catalog.js';
import { PRODUCT_IDS, type ProductId } from '../lambdas/core/products.js';
import { UnprofitableCatalogError } from '../lambdas/core/unit-economics.js';
import {
  ec2LimitsFromEnvironment,
  startLocalStorefront,
} from '../lambdas/local/local-storefront.js';
import { keptSynthesis } from '../lambdas/local/stack-cache.js';

// The SDK only talks to the in-process DynamoDB here; its Node version notice is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    'fast-clock': { type: 'string' },
    'no-rate-limits': { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? '.data' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    'public-url': { type: 'string', default: process.env.PUBLIC_URL },
    'warm-up': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${values.port}`);
  process.exit(2);
}
const clockSpeedup = values['fast-clock'] === undefined ? 1 : Number(values['fast-clock'] || 60);
if (!(clockSpeedup >= 1)) {
  console.error(`--fast-clock takes a speed-up factor of at least 1, got ${values['fast-clock']}`);
  process.exit(2);
}

const allowLossMakingProducts = (process.env.ALLOW_LOSS_MAKING_PRODUCTS ?? '')
  .split(',')
  .map((id) => id.trim())
  .filter(Boolean);
const unknownProduct = allowLossMakingProducts.find(
  (id) => !(PRODUCT_IDS as readonly string[]).includes(id),
);
if (unknownProduct) {
  console.error(`ALLOW_LOSS_MAKING_PRODUCTS names an unknown product: ${unknownProduct}`);
  process.exit(2);
}

let ec2Limits: ReturnType<typeof ec2LimitsFromEnvironment>;
try {
  ec2Limits = ec2LimitsFromEnvironment(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

let publicUrl: string | undefined;
try {
  publicUrl =
    values['public-url'] === undefined
      ? undefined
      : checkedPublicUrl(values['public-url'], '--public-url');
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

// The synthesised stack is kept between starts, keyed by everything the synthesis reads.
const stackCache = fileURLToPath(new URL('../.cache/local-storefront/stacks', import.meta.url));
const synthesizeStack = keptSynthesis(stackCache);

// A warm-up only builds: on a port of its own, writing no data, so a storefront already
// running beside it is left alone.
const warmUp = values['warm-up'];
const running = await startLocalStorefront({
  host: warmUp ? '127.0.0.1' : values.host,
  port: warmUp ? 0 : port,
  ...(publicUrl ? { publicUrl } : {}),
  ...(values['in-memory'] || warmUp ? {} : { dataDirectory: values['data-dir'] }),
  allowUnpaidCreate: process.env.ALLOW_UNPAID_MACHINE_CREATE === 'true',
  catalogOverride: process.env.PRODUCT_CATALOG ? JSON.parse(process.env.PRODUCT_CATALOG) : {},
  allowLossMakingProducts: allowLossMakingProducts as ProductId[],
  ec2Limits,
  clockSpeedup,
  ...(values['no-rate-limits'] ? { rateLimits: false as const } : {}),
  synthesizeStack,
}).catch((error: unknown) => {
  if (error instanceof UnprofitableCatalogError || error instanceof CatalogError) {
    console.error(
      `${error.message}${error instanceof UnprofitableCatalogError ? ' (ALLOW_LOSS_MAKING_PRODUCTS=<product,…> npm start)' : ''}`,
    );
    process.exit(2);
  }
  throw error;
});

if (warmUp) {
  await running.close();
  console.info(
    `local storefront prepared: bundle in .cache/local-storefront/bundle/, stack ${synthesizeStack.lastOutcome === 'kept' ? 'already kept' : 'synthesised and kept'} in ${relative(process.cwd(), stackCache) || stackCache}/`,
  );
  process.exit(0);
}

const { settings, payments } = running.storefront;
const freeMethods = PAYMENT_METHODS.filter((method) => method.money.moves === 'none')
  .map((method) => method.facts.key)
  .filter((key) => payments.methods.includes(key));
console.info(
  [
    'Agentic Compute Storefront (local)',
    `  API            ${running.url}   (try: curl ${running.url}/api/health)`,
    `  data           ${running.dataDirectory ? `${running.dataDirectory}/ (DynamoDB via dynalite at ${running.dynamoEndpoint})` : 'in memory'}`,
    `  payments       ${payments.methods.join(', ')}${freeMethods.map((key) => `  (${key} is a TEST method: no money moves)`).join('')}`,
    `  stack          the CDK app's, ${synthesizeStack.lastOutcome === 'kept' ? 'as synthesised at an earlier start from the same sources' : 'synthesised now'} (kept in ${relative(process.cwd(), stackCache) || stackCache}/)`,
    `  provisioning   the deployed lease state machine, run locally against a simulated EC2 (hosts from the documentation ranges, 203.0.113.x first; nothing is launched)`,
    `  clock          ${clockSpeedup === 1 ? 'real time' : `${clockSpeedup}× faster than real time (timestamps follow it)`}`,
    `  limits         ${running.rateLimits ? `${running.rateLimits.writesPerMinute} writes and ${running.rateLimits.readsPerMinute} reads per minute per client (--no-rate-limits to lift)` : 'none'}`,
    `  unpaid create  ${settings.allowUnpaidCreate ? 'allowed' : 'disabled (ALLOW_UNPAID_MACHINE_CREATE=true to allow)'}`,
    '',
  ].join('\n'),
);

const stop = async () => {
  await running.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
