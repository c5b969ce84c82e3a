import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A header value, case-insensitively, as API Gateway may deliver either spelling. */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * The public URL of the API's root as far as the request tells it: PUBLIC_BASE_URL when the
 * operator set one (custom domains), else the front door's host (X-Forwarded-Host, which
 * the front door's viewer-request function sets from the viewer's Host), else the stage URL
 * API Gateway was called on, else the server's own Host. Undefined when none is known.
 */
export function knownBaseUrl(event: APIGatewayProxyEvent, configured?: string): string | undefined {
  if (configured) return configured.replace(/\/+$/, '');
  // Set by the front door (CloudFront); API Gateway itself sees its own domain.
  const host =
    header(event, 'x-forwarded-host') ?? event.requestContext?.domainName ?? header(event, 'host');
  if (!host) return undefined;
  const scheme = header(event, 'x-forwarded-proto') ?? 'https';
  const stage = event.requestContext?.stage;
  const stagePrefix =
    host.endsWith('.amazonaws.com') && stage && stage !== '$default' ? `/${stage}` : '';
  return `${scheme}://${host}${stagePrefix}`;
}

/**
 * The public URL of the API's root for links that must be absolute (order_complete_url, the
 * URL mppx binds a challenge to): the known one, else https://localhost.
 */
export function publicBaseUrl(event: APIGatewayProxyEvent, configured?: string): string {
  return (
    knownBaseUrl(event, configured) ??
    `${header(event, 'x-forwarded-proto') ?? 'https'}://localhost`
  );
}

/** The Fetch Request mppx works with, built from the proxy event (multi-value headers kept). */
export function toFetchRequest(event: APIGatewayProxyEvent, baseUrl: string): Request {
  const headers = new Headers();
  if (event.multiValueHeaders && Object.keys(event.multiValueHeaders).length > 0) {
    for (const [name, values] of Object.entries(event.multiValueHeaders)) {
      for (const value of values ?? []) headers.append(name, value);
    }
  } else {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers.set(name, value);
    }
  }
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query.append(name, value);
  }
  const search = query.size > 0 ? `?${query}` : '';
  const hasBody = event.body != null && !['GET', 'HEAD'].includes(event.httpMethod);
  const body = hasBody
    ? event.isBase64Encoded
      ? Buffer.from(event.body as string, 'base64')
      : (event.body as string)
    : undefined;
  return new Request(`${baseUrl}${event.path}${search}`, {
    method: event.httpMethod,
    headers,
    body,
  });
}

/** The raw body text, decoded if API Gateway base64-encoded it. */
export function bodyText(event: APIGatewayProxyEvent): string | undefined {
  if (event.body == null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}
