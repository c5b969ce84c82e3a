import { acceptableUseUrl } from '../acceptable-use.js';
import { blockedMessage, blockFor, sshKeyFingerprint } from '../blocks.js';
import { forbidden } from '../errors.js';
import { orderIdFor } from '../ids.js';
import { parseCreateMachineRequest } from '../requests.js';
import type { Storefront } from './storefront.js';

/**
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
  const block = blockFor(await blocks.candidatesFor(subject), subject, now);
  if (!block) return;
  if (paidOrdersGoOn) {
    const order = await orders.get(orderIdFor(request.request_id, settings.keys.orderIdKey), now);
    if (order && (order.status !== 'unpaid' || Object.keys(order.payment_attempts ?? {}).length))
      return;
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
