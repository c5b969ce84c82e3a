import { createHmac, randomBytes } from 'node:crypto';

export const MACHINE_ID_PATTERN = /^machine_[a-f0-9]{16}$/;
export const ORDER_ID_PATTERN = /^order_[a-f0-9]{32}$/;

export function newMachineId(): string {
  return `machine_${randomBytes(8).toString('hex')}`;
}

/** Same request_id, same order: the id is a keyed hash, so a retry finds its order again. */
export function orderIdFor(requestId: string, orderIdKey: Buffer): string {
  const digest = createHmac('sha256', orderIdKey).update(requestId.toLowerCase()).digest('hex');
  return `order_${digest.slice(0, 32)}`;
}
