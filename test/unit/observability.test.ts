import { format } from 'node:util';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { documentClient } from '../../lambdas/adapters/dynamodb/document-client.js';
import { memoryLogger, powertoolsLogger } from '../../lambdas/runtime/logger.js';
import { embeddedMetrics, METRICS_NAMESPACE } from '../../lambdas/runtime/metrics.js';
import { tracedClient } from '../../lambdas/runtime/tracing.js';
import { createReconcileFleet } from '../../lambdas/workflow/reconcile-fleet.js';

/**
 * Captures what a Lambda function prints as Lambda does with the JSON log format: console.*
 * calls become Lambda's own JSON records (the printed text in `message`), while what is
 * written to stdout directly is kept line by line as it is.
 */
function lambdaLogCapture() {
  const lines: string[] = [];
  const levels = ['log', 'info', 'warn', 'error'] as const;
  const savedWrite = process.stdout.write;
  const savedConsole = { ...console };
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  for (const level of levels) {
    console[level] = (...args: unknown[]) => {
      lines.push(
        JSON.stringify({
          timestamp: new Date().toISOString(),
          level: level === 'log' ? 'INFO' : level.toUpperCase(),
          requestId: 'request-1',
          message: format(...args),
        }),
      );
    };
  }
  return {
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      process.stdout.write = savedWrite;
      Object.assign(console, savedConsole);
    },
  };
}

describe('metrics', () => {
  it('publishes the reconciler counts as EMF that CloudWatch reads under the JSON log format', async () => {
    const terminated: string[][] = [];
    const reconcile = createReconcileFleet({
      ec2: {
        send: async (command: unknown) => {
          if (command instanceof DescribeInstancesCommand) {
            return {
              Reservations: [
                {
                  Instances: [
                    {
                      InstanceId: 'i-0orphan',
                      Tags: [{ Key: 'storefront:machine-id', Value: 'machine_0123456789abcdef' }],
                    },
                  ],
                },
              ],
            };
          }
          terminated.push((command as { input: { InstanceIds: string[] } }).input.InstanceIds);
          return {};
        },
      } as unknown as Pick<EC2Client, 'send'>,
      machines: { get: async () => undefined },
      refund: async () => {
        throw new Error('no lease is failed in this run');
      },
      lifecycle: { markTerminated: async () => undefined, markFailed: async () => undefined },
      staleLeases: async () => [],
      managedBy: 'TestStorefront',
      graceMinutes: 10,
      clock: { now: () => new Date('2026-01-01T00:00:00Z') },
      log: memoryLogger(),
      metrics: embeddedMetrics({ Stack: 'TestStorefront' }),
    });

    const capture = lambdaLogCapture();
    try {
      await reconcile();
    } finally {
      capture.restore();
    }

    expect(terminated).toEqual([['i-0orphan']]);
    const emf = capture.records().filter((record) => '_aws' in record);
    expect(emf).toHaveLength(1);
    const [record] = emf as {
      _aws: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string }[];
        }[];
      };
      [key: string]: unknown;
    }[];
    expect(record?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['Stack']],
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Name: 'OrphanInstancesTerminated', Unit: 'Count' }),
        ]),
      },
    ]);
    expect(record).toMatchObject({ Stack: 'TestStorefront', OrphanInstancesTerminated: 1 });
    expect(record).not.toHaveProperty('service');
  });
});

describe('logs', () => {
  it('are Powertools JSON lines on stdout, with tokens and credentials redacted', () => {
    const capture = lambdaLogCapture();
    try {
      powertoolsLogger().info('order.paid', {
        order_id: 'ord_1',
        extend_token: 'mt_extend_secret',
        note: 'retried with Authorization: Bearer mt_read_secret',
      });
    } finally {
      capture.restore();
    }
    const [record] = capture.records();
    expect(record).toMatchObject({
      level: 'INFO',
      message: 'order.paid',
      service: 'agentic-compute-storefront',
      order_id: 'ord_1',
      extend_token: '[redacted]',
    });
    expect(JSON.stringify(record)).not.toContain('secret');
  });
});

describe('traces', () => {
  const xrayMiddleware = (client: { middlewareStack: { identify(): string[] } }) =>
    client.middlewareStack.identify().filter((name) => name.startsWith('XRaySDKInstrumentation'));

  it('capture DynamoDB, Step Functions and EC2 calls when tracing is on in Lambda', () => {
    const saved = process.env.AWS_EXECUTION_ENV;
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs24.x';
    try {
      const tracer = new Tracer({ serviceName: 'test' });
      expect(tracer.isTracingEnabled()).toBe(true);
      const clients = [
        tracedClient(documentClient({ region: 'us-east-1' }), tracer),
        tracedClient(new SFNClient({ region: 'us-east-1' }), tracer),
        tracedClient(new EC2Client({ region: 'us-east-1' }), tracer),
      ];
      for (const client of clients) expect(xrayMiddleware(client)).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.AWS_EXECUTION_ENV;
      else process.env.AWS_EXECUTION_ENV = saved;
    }
  });

  it('leave clients untouched outside Lambda', () => {
    const client = tracedClient(new SFNClient({ region: 'us-east-1' }), new Tracer());
    expect(xrayMiddleware(client)).toEqual([]);
  });
});
