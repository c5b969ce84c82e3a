import { parameterStore, readPublicUrl } from '../../adapters/ssm/public-url-parameter.js';
import type { PublicUrlPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/** Reads the deployment's public URL from its parameter, once per container. */
export const parameterStorePublicUrl: PublicUrlPart = async (clients, parameterName) => {
  const client = clients.ssm ?? tracedClient(parameterStore());
  try {
    return await readPublicUrl(client, parameterName);
  } finally {
    if (!clients.ssm) client.destroy?.();
  }
};
