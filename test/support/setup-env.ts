// Tests talk to local servers only: no real credentials, no SDK chatter about the local Node version.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_REGION ??= 'us-east-1';
// The synths inside tests skip the CDK's built-in template validation, as `cdk synth
// --no-validation` does: its findings are only ever warnings (unless
// @aws-cdk/core:validateAgainstDefaultRules is set), no test reads them, and its engine costs
// ~10 CPU-s per synth in a test worker. The operator's `cdk synth` test keeps it
// (test/support/synthesised-app.ts), and cfn-lint checks every template against the schemas.
process.env.CDK_VALIDATION ??= 'false';
