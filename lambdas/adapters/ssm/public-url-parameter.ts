import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { retryConfig } from '../aws-retry.js';

/**
 * The storefront's public URL as the deployment wrote it (lib/public-url.ts): the front
 * door's domain, or the operator's custom domain. It is read from the stack's own parameter,
 * never from a request: no header an agent sends decides where a machine calls back or what
 * URL an answer carries.
 */
export async function readPublicUrl(
  client: Pick<SSMClient, 'send'>,
  parameterName: string,
): Promise<string> {
  const { Parameter } = await client.send(new GetParameterCommand({ Name: parameterName }));
  return checkedPublicUrl(Parameter?.Value, parameterName);
}

/** An absolute http(s) URL with no path, query or fragment, without its trailing slash. */
export function checkedPublicUrl(value: string | undefined, source: string): string {
  let url: URL;
  try {
    url = new URL(value ?? '');
  } catch {
    throw new Error(`${source} does not hold an absolute URL`);
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username;
  if (!['https:', 'http:'].includes(url.protocol) || !bare) {
    throw new Error(`${source} must be an http(s) origin with no path, query or credentials`);
  }
  return url.origin;
}

export const parameterStore = () => new SSMClient(retryConfig('other'));
