export const METRICS_NAMESPACE = 'AgenticComputeStorefront';

/**
 * Counts as CloudWatch metrics through the embedded metric format: one structured log line
 * that CloudWatch turns into metrics, so a function needs no PutMetricData permission.
 */
export const embeddedMetrics =
  (dimensions: Record<string, string>) =>
  (counts: Record<string, number>): void => {
    console.info(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [Object.keys(dimensions)],
              Metrics: Object.keys(counts).map((name) => ({ Name: name, Unit: 'Count' })),
            },
          ],
        },
        ...dimensions,
        ...counts,
      }),
    );
  };
