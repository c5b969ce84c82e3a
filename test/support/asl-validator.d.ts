/** asl-validator ships no types for its entry; what the tests of its once-per-definition wrapper use. */
interface AslValidation {
  isValid: boolean;
  errors: unknown[];
  errorsText(separator?: string): string;
}
type AslValidator = (definition: unknown, options?: Record<string, boolean>) => AslValidation;

declare module 'asl-validator' {
  const validator: AslValidator;
  export default validator;
}

declare module 'asl-validator/dist/src/validator.js' {
  const validator: AslValidator;
  export default validator;
}
