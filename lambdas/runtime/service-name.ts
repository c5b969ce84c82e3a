/** Service name in traces, logs and metrics unless the function sets POWERTOOLS_SERVICE_NAME. */
export const SERVICE_NAME = 'agentic-compute-storefront';
