import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * Answers the local front door gives by itself, shaped like every other error of the API:
 * a JSON `{ error }` body. (The deployed API answers the same through its gateway responses
 * and the catch-all method of lib/api-gateway-document.ts.)
 */
export function jsonError(
  statusCode: number,
  error: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify({ error }),
  };
}

export function methodNotAllowed(
  method: string,
  path: string,
  allowed: string[],
): APIGatewayProxyResult {
  return jsonError(
    405,
    `method ${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
    { allow: allowed.join(', ') },
  );
}

/** Node's own answers to requests it cannot parse, which it would otherwise send empty. */
const CLIENT_ERRORS: Record<string, { status: number; reason: string; error: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    error: 'request headers are too large; send at most 16 KiB of headers',
  },
  // The headers did not arrive within the server's headersTimeout (a sender too slow).
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    error: 'the request did not arrive in time; send it again',
  },
};
const MALFORMED = { status: 400, reason: 'Bad Request', error: 'malformed HTTP request' };

/**
 * `server.on('clientError')`: once Node gives up on a request, only the raw socket is left,
 * so the JSON answer is written as raw HTTP/1.1 before the connection closes.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // Pipelined requests are answered in order: the refusal waits for the answers to the
  // requests before it (Node's default would write it first, or drop theirs). It goes out
  // as the last of them finishes, before Node may close a connection the client half-closed.
  const answer = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
  const last = lastAnswers.get(socket);
  if (last && !last.writableFinished && !last.destroyed) {
    if (!last.req.complete && !last.headersSent) {
      // What Node could not read is that request's own body (a bad chunk, or the client
      // ended before Content-Length): it is the request refused, through its own answer.
      respondWithJson(last, answer.status, answer.error, { connection: 'close' });
      return;
    }
    last.prependOnceListener('finish', () => answerClientError(error, socket));
    return;
  }
  endWithJson(socket, answer);
}

/** The latest answer begun on each connection: it finishes after those before it. */
const lastAnswers = new WeakMap<Duplex, ServerResponse>();

/** Call for each request as it arrives, so that answerClientError keeps the answers' order. */
export function trackAnswer(response: ServerResponse): void {
  lastAnswers.set(response.req.socket, response);
}

/** A whole HTTP/1.1 answer written on a raw socket, which is then closed. */
function endWithJson(
  socket: Duplex,
  answer: { status: number; reason: string; error: string },
): void {
  const body = JSON.stringify({ error: answer.error });
  socket.end(
    [
      `HTTP/1.1 ${answer.status} ${answer.reason}`,
      'content-type: application/json',
      'cache-control: no-store',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

/**
 * RFC 9110 7.2: `Host = uri-host [ ":" port ]`, a reg-name or an IP literal (RFC 3986 3.2.2).
 * CloudFront refuses a request whose Host is none of these before any origin sees it.
 */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::[0-9]{0,5})?$/;

/**
 * The URL a request names: its one Host (or, for HTTP/1.0 without one, the server's own
 * address) and its request target, the path and query only. Anything else the front door
 * refuses with a 400 (no Host or two, a malformed one, a target that is no path), instead of
 * letting the URL parser throw or a target such as `//elsewhere/x` choose another host.
 */
export function requestUrl(
  request: Pick<IncomingMessage, 'url' | 'httpVersion' | 'rawHeaders'>,
  ownAddress: string,
): URL | { error: string } {
  const hosts: string[] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]?.toLowerCase() === 'host')
      hosts.push(request.rawHeaders[i + 1] ?? '');
  }
  if (hosts.length > 1) return { error: 'send one Host header, not several' };
  if (hosts.length === 0 && request.httpVersion !== '1.0') {
    return { error: 'the Host header is required' };
  }
  const authority = hosts[0] ?? ownAddress;
  const badHost = {
    error: 'the Host header must be a host name or IP address, optionally with :port',
  };
  if (!HOST_HEADER.test(authority)) return badHost;
  const target = request.url ?? '/';
  let path = target;
  if (!target.startsWith('/')) {
    // The absolute form (RFC 9112 3.2.2), as proxies send it: only its path and query count.
    const absolute = URL.canParse(target) ? new URL(target) : undefined;
    if (absolute?.protocol !== 'http:' && absolute?.protocol !== 'https:') {
      return { error: 'the request target must be a path such as /api/health' };
    }
    path = `${absolute.pathname}${absolute.search}`;
  }
  const url = URL.canParse(`http://${authority}${path}`)
    ? new URL(`http://${authority}${path}`)
    : undefined;
  if (!url || url.username || url.password) return badHost;
  return url;
}

/** The server's own address as a Host value, for requests that carry none (HTTP/1.0). */
export const hostOf = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

/**
 * `server.on('checkExpectation')`: an Expect other than 100-continue. Node would answer 417
 * with an empty body; the answer says what is wrong, as every other error does.
 */
export function answerExpectation(request: IncomingMessage, response: ServerResponse): void {
  respondWithJson(
    response,
    417,
    'the Expect header is not supported; only "Expect: 100-continue" is',
  );
  request.resume();
}

/**
 * `server.on('connect')`: CONNECT asks for a tunnel, which the front door does not offer.
 * Node would close the connection without an answer.
 */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  endWithJson(socket, {
    status: 405,
    reason: 'Method Not Allowed',
    error: 'method CONNECT is not allowed: the storefront is no proxy; see /openapi.json',
  });
}

/**
 * A request asking to switch protocols (`Connection: Upgrade`): the API is plain HTTP (a REST
 * API has no WebSocket), so it is refused with a JSON 400 and the connection closed. Left to
 * Node's default, such a request with a body was never answered: the parser stops at the
 * upgrade, so the body never ends.
 */
export function answerUpgrade(_request: IncomingMessage, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  endWithJson(socket, {
    status: 400,
    reason: 'Bad Request',
    error:
      'protocol upgrades (Upgrade: …) are not supported: send plain HTTP/1.1; see /openapi.json',
  });
}

/**
 * A request whose answer itself failed (a bug): logged, and answered with a JSON 500 if
 * nothing was sent yet, else the connection is closed, rather than the process crashing on
 * an unhandled rejection.
 */
export function lastResort(response: ServerResponse, error: unknown): void {
  console.error('local server: answering a request failed', error);
  if (response.headersSent || !response.writable) {
    response.destroy();
    return;
  }
  respondWithJson(response, 500, 'internal error in the local server');
}

function respondWithJson(
  response: ServerResponse,
  status: number,
  error: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(JSON.stringify({ error }));
}
