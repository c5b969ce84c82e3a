import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PAYMENT_METHODS } from '../lambdas/adapters/payments/payment-methods.js';
import { ACCEPTABLE_USE_PATH } from '../lambdas/core/acceptable-use.js';
import { AbuseFindings } from './abuse-findings.js';
import { StorefrontApi } from './api.js';
import { ApiFunctions, type SharedApiEnvironment } from './api-functions.js';
import { BlockedRangesSync } from './blocked-ranges-sync.js';
import { Compute } from './compute.js';
import { rateLimitsOf, type StorefrontConfig } from './config.js';
import { StorefrontData } from './data.js';
import { FrontDoor } from './front-door.js';
import { LeaseWorkflow } from './lease-workflow.js';
import { Monitoring } from './monitoring.js';
import { suppressAcceptedFindings } from './nag-suppressions.js';
import { PaymentMethodWiring } from './payment-method-wiring.js';
import { PaymentSweeper } from './payment-sweeper.js';
import { PublicUrl } from './public-url.js';
import { StorefrontSecrets } from './secrets.js';
import { UsEast1Stack } from './us-east-1-stack.js';
import { publishWebAcl, webAclArnFrom } from './waf.js';

export interface StorefrontStackProps extends StackProps {
  config: StorefrontConfig;
}

const retentionFor = (days: number): RetentionDays => {
  const allowed = Object.values(RetentionDays).filter(
    (value): value is number => typeof value === 'number' && value > 0,
  );
  return (allowed.find((value) => value >= days) ?? RetentionDays.TEN_YEARS) as RetentionDays;
};

/**
 * The storefront on AWS: the API (imported from openapi.json) behind a CloudFront front
 * door, one function per operation, one table, one lease workflow per machine, and the
 * compute it launches, with alarms.
 */
export class StorefrontStack extends Stack {
  constructor(scope: Construct, id: string, props: StorefrontStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = retentionFor(config.logRetentionDays);
    const productCatalogJson = JSON.stringify(config.productOverrides);

    const data = new StorefrontData(this, 'Data', { retain: config.removalPolicy === 'retain' });
    const secrets = new StorefrontSecrets(this, 'Secrets');
    // Each accepted method's secrets, variables and grants, as its module declares them.
    const payments = new PaymentMethodWiring(this, 'PaymentMethods', { config });
    const publicUrl = new PublicUrl(this, 'PublicUrl');
    const compute = new Compute(this, 'Compute', {
      catalog: config.catalog,
      ...(config.vpcId ? { vpcId: config.vpcId } : {}),
      logRetention,
    });
    const workflow = new LeaseWorkflow(this, 'LeaseWorkflow', {
      table: data.table,
      payments,
      compute,
      publicUrl,
      catalog: config.catalog,
      productCatalogJson,
      provisioningTimeoutMinutes: config.provisioningTimeoutMinutes,
      retentionDays: config.retentionDays,
      reconcileEveryMinutes: config.reconcileEveryMinutes,
      logRetention,
    });

    for (const method of payments.methods) {
      if (method.money.moves === 'none')
        Annotations.of(this).addWarningV2(
          `storefront:${method.facts.name}-payments`,
          `${method.money.switchKey} is on: the "${method.facts.name}" payment method takes no money. Use it only for a non-production stage.`,
        );
    }
    if (payments.methods.length === 0) {
      const ways = PAYMENT_METHODS.filter((method) => method.money.moves === 'real').map(
        (method) => method.turnedOnBy,
      );
      Annotations.of(this).addWarningV2(
        'storefront:no-payment-method',
        `No payment method is configured (${ways.join(', or ')}): the storefront will refuse orders with 503 until one is.`,
      );
    }

    const functionEnvironment: SharedApiEnvironment = {
      TABLE_NAME: data.table.tableName,
      PRODUCT_CATALOG: productCatalogJson,
      PAYMENT_METHODS: payments.acceptedMethods,
      ALLOW_UNPAID_MACHINE_CREATE: config.allowUnpaidMachineCreate ? 'true' : 'false',
      REFUND_UNUSED_MINUTES: config.refundUnusedMinutes ? 'true' : 'false',
      MPP_REALM: config.realm ?? config.domainName ?? this.stackName,
      PROVISIONING_TIMEOUT_MINUTES: String(config.provisioningTimeoutMinutes),
      RETENTION_DAYS: String(config.retentionDays),
    };
    const functions = new ApiFunctions(this, 'Functions', {
      table: data.table,
      storefrontSecret: secrets.storefront,
      payments,
      stateMachine: workflow.stateMachine,
      publicUrl,
      logRetention,
      environment: functionEnvironment,
      ...(config.acceptableUsePolicy ? { acceptableUsePolicy: config.acceptableUsePolicy } : {}),
    });
    // Finishes every payment a request left in between: settle, start the lease, or refund.
    const sweeper = new PaymentSweeper(this, 'PaymentSweeper', {
      table: data.table,
      storefrontSecret: secrets.storefront,
      payments,
      stateMachine: workflow.stateMachine,
      environment: functionEnvironment,
      logRetention,
    });
    const api = new StorefrontApi(this, 'Api', {
      functions: functions.byOperation,
      integrations: functions.integrations(),
      stageName: config.stageName,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      logRetention,
    });
    // Per-client limits: a WAF web ACL on the front door, in the us-east-1 stack (lib/waf.ts).
    const webAcl = publishWebAcl(UsEast1Stack.beside(this), {
      limits: rateLimitsOf(config),
      // The us-east-1 stack is deployed before the front door exists: its URL is known only
      // with a custom domain, and the path is enough for the client it answers.
      policyUrl: `${config.domainName ? `https://${config.domainName}` : ''}${ACCEPTABLE_USE_PATH}`,
    });
    const frontDoor = new FrontDoor(this, 'FrontDoor', {
      api: api.api,
      originSecret: secrets.frontDoorOrigin,
      webAclArn: webAclArnFrom(this, { ...webAcl, logRetention }),
      logRetention,
      ...(config.domainName && config.certificateArn
        ? { domainName: config.domainName, certificateArn: config.certificateArn }
        : {}),
    });
    publicUrl.publish(frontDoor.url);
    new CfnOutput(this, 'StateMachineArn', {
      value: workflow.stateMachine.stateMachineArn,
      description: 'Lease executions, named after machine ids (Step Functions console)',
    });
    new CfnOutput(this, 'TableName', { value: data.table.tableName });
    new CfnOutput(this, 'BlockedIpSetsParameter', {
      value: webAcl.ipSetsParameterName,
      description: "us-east-1 parameter naming the front door's blocked-client IP sets",
    });

    // Abuse (docs/abuse.md): GuardDuty findings end leases; client-range blocks reach the WAF.
    const abuse = new AbuseFindings(this, 'AbuseFindings', {
      table: data.table,
      stateMachine: workflow.stateMachine,
      publicUrl,
      productCatalogJson,
      findings: config.abuseFindings,
      detector: config.guardDutyDetector,
      retain: config.removalPolicy === 'retain',
      logRetention,
    });
    const rangesSync = new BlockedRangesSync(this, 'BlockedRangesSync', {
      table: data.table,
      ipSetsParameterName: webAcl.ipSetsParameterName,
      logRetention,
    });
    new CfnOutput(this, 'StorefrontSecretArn', { value: secrets.storefront.secretArn });
    new CfnOutput(this, 'FrontDoorDomain', {
      value: frontDoor.distribution.distributionDomainName,
    });

    const monitoring = new Monitoring(this, 'Monitoring', {
      api: api.api,
      stageName: config.stageName,
      functions: [
        ...Object.values(functions.byOperation),
        ...Object.values(workflow.functions),
        sweeper.function,
        abuse.function,
        rangesSync.function,
      ],
      table: data.table,
      stateMachine: workflow.stateMachine,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    for (const alarm of [sweeper.refundsOwedAlarm, abuse.actedOnAlarm, abuse.deadLettersAlarm])
      alarm.addAlarmAction(new SnsAction(monitoring.topic));

    suppressAcceptedFindings(this, { customDomain: Boolean(config.domainName) });
  }
}
