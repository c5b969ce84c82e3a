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
  const answer = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
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
