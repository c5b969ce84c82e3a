import * as z from 'zod';

/**
 * Building blocks of the functions' environment schemas. Every input is a string (that is
 * all Lambda environment variables can be), so `z.input` of a schema is exactly the type
 * of the `environment` the CDK stack must give the function.
 */
export const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((value) => value === 'true');

export const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A JSON document in a string, checked against a schema. */
export const jsonText = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** The environment a function's CDK construct must set: the schema's input, all strings. */
export type EnvironmentOf<Schema extends z.ZodType<unknown, Record<string, unknown>>> =
  z.input<Schema>;

/** Parses a function's environment, naming the first variable that is missing or wrong. */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Readonly<Record<string, string | undefined>>,
  what: string,
): z.output<Schema> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid ${what} configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}
