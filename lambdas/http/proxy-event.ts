import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A header value, case-insensitively, as API Gateway may deliver either spelling. */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
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
