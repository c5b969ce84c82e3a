import { acceptableUseUrl } from '../acceptable-use.js';
import { blockedMessage, blockFor, sshKeyFingerprint } from '../blocks.js';
import { ApiProblem, forbidden } from '../errors.js';
import { orderIdFor } from '../ids.js';
import { parseCreateMachineRequest } from '../requests.js';
import type { Storefront } from './storefront.js';

/**
 * Refuses, before any challenge, a buyer the operator has blocked (403) and one whose SSH key
 * already holds its product's most live leases (429, `maxLiveLeasesPerKey`). The count reads
 * the live-leases index, so it is racy: requests in flight together, and a lease created
 * within the index's propagation (typically under a second), are not counted.
 *
 * Refuses a buyer the operator has blocked, with 403 naming the reason and the acceptable-use
 * policy, before any challenge is issued or anything stored (called first by createOrder,
 * validateOrder and createMachine). An order already paid for, or with a payment attempt on
 * record, goes on (`paidOrdersGoOn`): money taken before the block ends as its machine (which
 * the operator can then end for cause), never as a payment with nothing to show for it.
 */
export async function refuseBlockedBuyer(
  storefront: Storefront,
  body: unknown,
  clientAddress: string | undefined,
  { paidOrdersGoOn }: { paidOrdersGoOn: boolean },
): Promise<void> {
  const { settings, blocks, orders, clock } = storefront;
  const request = parseCreateMachineRequest(body, settings.catalog);
  const subject = {
    sshKeyFingerprint: sshKeyFingerprint(request.ssh_public_key),
    ...(clientAddress ? { clientAddress } : {}),
  };
  const now = clock.now();
  const product = settings.catalog[request.product_id];
  const [candidates, live] = await Promise.all([
    blocks.candidatesFor(subject),
    storefront.liveLeasesOfKey(request.ssh_public_key),
  ]);
  const block = blockFor(candidates, subject, now);
  const sameProduct = live.filter((lease) => lease.product_id === product.id).length;
  if (!block && sameProduct < product.maxLiveLeasesPerKey) return;
  if (paidOrdersGoOn) {
    const order = await orders.get(orderIdFor(request.request_id, settings.keys.orderIdKey), now);
    if (order && (order.status !== 'unpaid' || Object.keys(order.payment_attempts ?? {}).length))
      return;
  }
  if (!block) {
    storefront.log.info('order.refused_live_lease_limit', {
      product_id: product.id,
      live_leases: sameProduct,
    });
    throw new ApiProblem(
      'too_many_live_leases',
      `this SSH key already holds ${sameProduct} live ${product.id} leases, the most one key may hold at once (${product.maxLiveLeasesPerKey}); nothing was charged. Retry when one has ended.`,
      60,
    );
  }
  storefront.log.info('order.refused_blocked', {
    block_kind: block.kind,
    block_value: block.value,
    client_address: clientAddress,
  });
  if (!settings.publicBaseUrl)
    throw new Error('refusing a blocked buyer needs the public URL (operation-access.ts)');
  throw forbidden(blockedMessage(block, acceptableUseUrl(settings.publicBaseUrl)));
}
