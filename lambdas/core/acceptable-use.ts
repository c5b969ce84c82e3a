/** Where the storefront publishes its acceptable-use policy, under the deployment's public URL. */
export const ACCEPTABLE_USE_PATH = '/acceptable-use';

export const acceptableUseUrl = (publicBaseUrl: string) =>
  `${publicBaseUrl.replace(/\/+$/, '')}${ACCEPTABLE_USE_PATH}`;
