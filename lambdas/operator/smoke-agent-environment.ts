import * as z from 'zod';

/** The smoke agent's configuration: the front door of the stage it checks. */
export const smokeAgentEnvironmentSchema = z.object({
  STOREFRONT_URL: z.url(),
});
