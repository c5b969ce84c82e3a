import type { CloudFrontHeaders, CloudFrontResponse, CloudFrontResponseEvent } from 'aws-lambda';

/**
 * Lambda@Edge, origin-response event: puts the MPP challenge back where clients read it.
 *
 * API Gateway REST APIs rename a WWW-Authenticate header returned by a Lambda proxy
 * integration to x-amzn-Remapped-WWW-Authenticate, so a stock mppx client sees no challenge.
 * CloudFront runs origin-response functions on every origin response, 401 and 402 included
 * (viewer-response functions are skipped from 400 up), which is why this is not a
 * CloudFront Function. Lambda@Edge takes no environment variables: this module needs none.
 */
export const REMAPPED_CHALLENGE_HEADER = 'x-amzn-remapped-www-authenticate';
const CHALLENGE_HEADER = 'www-authenticate';

/** Moves every remapped challenge value, in order, to WWW-Authenticate; touches nothing else. */
export function restorePaymentChallenge(response: CloudFrontResponse): CloudFrontResponse {
  const remapped = response.headers[REMAPPED_CHALLENGE_HEADER];
  if (!remapped?.length) return response;
  const headers: CloudFrontHeaders = { ...response.headers };
  delete headers[REMAPPED_CHALLENGE_HEADER];
  headers[CHALLENGE_HEADER] = [
    ...(headers[CHALLENGE_HEADER] ?? []),
    ...remapped.map(({ value }) => ({ key: 'WWW-Authenticate', value })),
  ];
  return { ...response, headers };
}

export const handler = async (event: CloudFrontResponseEvent): Promise<CloudFrontResponse> => {
  const record = event.Records[0];
  if (!record) throw new Error('origin-response event without a record');
  return restorePaymentChallenge(record.cf.response);
};
