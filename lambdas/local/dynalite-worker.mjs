// dynalite on a thread of its own (see dynalite-server.ts). Plain JavaScript, so that Node runs it
// as it is wherever the local storefront runs (tsx, Jest).
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';

const dynalite = createRequire(import.meta.url)('dynalite');
const server = dynalite(workerData.options);
/** dynalite's own request handler, bound to its store: HTTP and the message channel share it. */
const [answerHttp] = server.listeners('request');

/** Set once the storefront closes the table: requests still arriving are refused, not run. */
let closing = false;
/** Channel requests started and not yet answered: the table closes only once they have been. */
let unanswered = 0;
/** Closes the table; called once nothing is left unanswered. */
let whenAnswered;
/** A request dynalite never answers must not keep the storefront from stopping. */
const ANSWER_WAIT_MS = 10_000;

/** Requests answered, keyed `<access key id> <Operation>`. */
const requests = new Map();
const count = (headers) => {
  const operation = String(headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
  const principal = /Credential=([^/,\s]+)\//.exec(headers.authorization ?? '')?.[1] ?? 'unsigned';
  const key = `${principal} ${operation}`;
  requests.set(key, (requests.get(key) ?? 0) + 1);
  return key;
};
server.on('request', (request) => count(request.headers));

/**
 * Capacity units consumed, keyed like `requests`, as dynalite computes them (item size in 1 KB
 * units for writes, 4 KB for reads, halved for eventually consistent reads; no index writes).
 * Off until the storefront asks (`meter capacity`): each request then asks dynalite for its
 * ConsumedCapacity, which is taken out of the answer again unless the caller asked for it.
 */
let metering = false;
const capacity = new Map();
const meteredBody = (body) => {
  if (!metering || !body) return { body, strip: false };
  try {
    const input = JSON.parse(body);
    if (input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES')
      return { body, strip: false };
    return { body: JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }), strip: true };
  } catch {
    return { body, strip: false };
  }
};
/** Adds the answer's ConsumedCapacity to the meter; the answer as the caller asked for it. */
const metered = (key, data, strip, headers) => {
  if (!metering || typeof data !== 'string' || !data.includes('ConsumedCapacity')) return data;
  const output = JSON.parse(data);
  const consumed = [output.ConsumedCapacity ?? []].flat();
  const units = consumed.reduce((sum, one) => sum + (one?.CapacityUnits ?? 0), 0);
  capacity.set(key, (capacity.get(key) ?? 0) + units);
  if (!strip) return data;
  delete output.ConsumedCapacity;
  const text = JSON.stringify(output);
  headers['x-amz-crc32'] = String(crc32(text));
  return text;
};

/**
 * One SDK request that came over the message channel: the same method, path, headers and body
 * a socket would have carried, handed to dynalite's handler through the parts of Node's
 * request and response objects it uses.
 */
function answerMessage({ id, method, url, headers, body: sent }) {
  if (closing) {
    // What a caller of a DynamoDB that has gone away meets: a 5xx, which its SDK retries.
    parentPort.postMessage({
      id,
      statusCode: 503,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable',
        message: 'the local DynamoDB is shutting down',
      }),
    });
    return;
  }
  const key = count(headers);
  const { body, strip } = meteredBody(sent);
  unanswered += 1;
  const request = Object.assign(new EventEmitter(), { method, url, headers });
  const responseHeaders = {};
  const response = {
    statusCode: 200,
    setHeader: (name, value) => {
      responseHeaders[name.toLowerCase()] = String(value);
    },
    end: (data) => {
      unanswered -= 1;
      if (unanswered === 0) whenAnswered?.();
      parentPort.postMessage({
        id,
        statusCode: response.statusCode,
        headers: responseHeaders,
        body:
          data === undefined
            ? ''
            : response.statusCode === 200
              ? metered(key, String(data), strip, responseHeaders)
              : String(data),
      });
    },
  };
  answerHttp(request, response);
  if (body) request.emit('data', Buffer.from(body));
  request.emit('end');
}

// A request still inside dynalite when its LevelDB closes (an HTTP one, or one past the
// answer wait) can fail where nobody awaits it: "Database is closed" from a tracked read or
// write, "Database is not open" from a scan's iterator. It must not end the thread with an
// error the storefront's own shutdown would throw.
const unlessClosing = (error) => {
  if (closing && /Database is (closed|not open)/.test(String(error?.message))) return;
  throw error;
};
process.on('unhandledRejection', unlessClosing);
process.on('uncaughtException', unlessClosing);

parentPort.on('message', (message) => {
  if (message === 'requests') parentPort.postMessage({ requests: [...requests] });
  else if (message === 'capacity') parentPort.postMessage({ capacity: [...capacity] });
  else if (message === 'meter capacity') metering = true;
  else if (message === 'close') {
    closing = true;
    // dynalite's close shuts LevelDB under a scan still reading it ("Database is not open",
    // thrown on this thread): requests already started are answered first.
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      server.close(() => process.exit(0));
    };
    if (unanswered === 0) close();
    else {
      whenAnswered = close;
      setTimeout(close, ANSWER_WAIT_MS);
    }
  } else answerMessage(message);
});
server.once('error', (error) => parentPort.postMessage({ error: String(error) }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
