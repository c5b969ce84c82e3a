import type { Worker } from 'node:worker_threads';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** The parts of the SDK's HttpRequest that a DynamoDB call fills in. */
interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface ChannelReply {
  id: number;
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const isChannelReply = (message: unknown): message is ChannelReply =>
  typeof message === 'object' && message !== null && 'id' in message && 'statusCode' in message;

const queryString = (query: SdkHttpRequest['query'] = {}) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) search.append(name, one);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

/**
 * An SDK request handler that carries each signed HTTP request (method, path, headers, body:
 * what the socket would carry) to the dynalite thread as a message, and its answer back. A
 * socket's cost (Node's HTTP client and server, both in JavaScript) was most of what a
 * DynamoDB call cost the local storefront's event loop (README "Performance").
 */
export function dynaliteChannel(worker: Worker): {
  requestHandler: NonNullable<DynamoDBClientConfig['requestHandler']>;
  /** Fails every call still waiting for its answer, and every later one (the thread ended). */
  failPending(error: Error): void;
} {
  let nextId = 0;
  /** Why the thread ended, once it has: later calls fail at once instead of waiting forever. */
  let ended: Error | undefined;
  const pending = new Map<
    number,
    { resolve: (reply: ChannelReply) => void; reject: (error: Error) => void }
  >();
  worker.on('message', (message: unknown) => {
    if (!isChannelReply(message)) return;
    pending.get(message.id)?.resolve(message);
    pending.delete(message.id);
  });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: SdkHttpRequest) {
      if (ended) throw ended;
      const id = nextId++;
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
      );
      const body =
        request.body === undefined || typeof request.body === 'string'
          ? request.body
          : decoder.decode(request.body);
      const reply = await new Promise<ChannelReply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({
          id,
          method: request.method,
          url: `${request.path}${queryString(request.query)}`,
          headers,
          body,
        });
      });
      return {
        response: {
          statusCode: reply.statusCode,
          headers: reply.headers,
          body: encoder.encode(reply.body),
        },
      };
    },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
    // Every client shares this handler: one client's destroy() must not stop the others.
    destroy: () => {},
  };
  return {
    requestHandler: handler as unknown as NonNullable<DynamoDBClientConfig['requestHandler']>,
    failPending: (error) => {
      ended = error;
      for (const { reject } of pending.values()) reject(error);
      pending.clear();
    },
  };
}
