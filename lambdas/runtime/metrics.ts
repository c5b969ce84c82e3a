import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'AgenticComputeStorefront';

/**
 * Counts as CloudWatch metrics in the embedded metric format, written by Powertools Metrics
 * straight to stdout, one JSON object per line. With the JSON log format Lambda wraps what
 * console.* prints into its own JSON record, where CloudWatch no longer finds the EMF; a line
 * written to stdout directly stays the top-level object CloudWatch extracts metrics from.
 * The dimensions are exactly the given ones (Powertools' default `service` dimension is
 * removed), so alarms on them match.
 */
export const embeddedMetrics = (dimensions: Record<string, string>) => {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions(dimensions);
  return (counts: Record<string, number>): void => {
    for (const [name, value] of Object.entries(counts)) {
      metrics.addMetric(name, MetricUnit.Count, value);
    }
    metrics.publishStoredMetrics();
  };
};
