import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import * as z from 'zod';
import { acceptedMethodsVariable } from '../lambdas/adapters/payments/accepted-methods.js';
import type { PaymentMethod } from '../lambdas/adapters/payments/payment-method.js';
import {
  type PaymentRole,
  secretsFor,
} from '../lambdas/adapters/payments/payment-methods-in-environment.js';
import { paymentMethodsOn, type StorefrontConfig } from './config.js';

const pascal = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The CDK side of the payment methods, derived from what each method's module declares
 * (lambdas/adapters/payments/payment-method.ts) for the methods the operator turned on:
 *
 * - every function that takes, gives back or describes payments is told the accepted methods
 *   (`PAYMENT_METHODS`, their facts);
 * - a function that takes payments (`charge`: order, extension, sweeper) or only refunds
 *   (`refund`: the workflow's refund, cleanup and reconcile functions) gets each method's
 *   variables, the ARNs of the secrets it reads in that role, read access to exactly those
 *   secrets and the method's own IAM statements.
 *
 * Nothing here names a method: a method that is not on leaves no trace in the template.
 */
export class PaymentMethodWiring extends Construct {
  /** The methods turned on, in the order challenges offer them. */
  readonly methods: readonly PaymentMethod[];
  /** The value of `PAYMENT_METHODS`. */
  readonly acceptedMethods: string;
  private readonly secrets = new Map<PaymentMethod, Record<string, ISecret>>();
  private readonly environments = new Map<PaymentMethod, Record<string, string>>();

  constructor(scope: Construct, id: string, props: { config: StorefrontConfig }) {
    super(scope, id);
    const { config } = props;
    this.methods = paymentMethodsOn(config);
    this.acceptedMethods = acceptedMethodsVariable(this.methods.map((method) => method.facts));
    for (const method of this.methods) {
      const context = config as unknown as Record<string, unknown>;
      // Referenced by name: the operator creates the secret and puts its value in.
      const secrets: Record<string, ISecret> = {};
      for (const [secretId, secret] of Object.entries(method.secrets)) {
        const name = context[secret.nameKey];
        if (typeof name !== 'string')
          throw new Error(
            `payment method ${method.facts.name} is on but storefront:${secret.nameKey} names no secret`,
          );
        secrets[secretId] = Secret.fromSecretNameV2(
          this,
          `${pascal(method.facts.name)}${pascal(secretId)}`,
          name,
        );
      }
      this.secrets.set(method, secrets);
      // Checked here with the method's own schema, as its functions will parse them.
      const environment = method.environmentFrom(config as never);
      const parsed = z.object(method.environment).safeParse(environment);
      if (!parsed.success)
        throw new Error(
          `payment method ${method.facts.name}: environment ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
        );
      this.environments.set(method, environment);
    }
  }

  /** The variables a function in this role needs of the accepted methods (never a secret's value). */
  environmentFor(role: PaymentRole): Record<string, string> {
    const variables: Record<string, string> = {};
    for (const method of this.methods) {
      Object.assign(variables, this.environments.get(method));
      const secrets = this.secrets.get(method) ?? {};
      for (const [secretId, secret] of secretsFor(method, role)) {
        const arn = secrets[secretId]?.secretArn;
        if (arn) variables[secret.arnVariable] = arn;
      }
    }
    return variables;
  }

  /** Read access to the secrets the role reads, and the methods' own statements. */
  grant(fn: IFunction, role: PaymentRole): void {
    for (const method of this.methods) {
      // The functions reach providers over the internet; in a VPC they would need a way out
      // (a NAT gateway or endpoints) that this stack does not build.
      if (method.egress.length && fn.isBoundToVpc)
        throw new Error(
          `payment method ${method.facts.name} calls ${method.egress.join(', ')}, which ${fn.node.path} cannot reach from its VPC`,
        );
      const secrets = this.secrets.get(method) ?? {};
      for (const [secretId] of secretsFor(method, role)) secrets[secretId]?.grantRead(fn);
      for (const permission of method.permissions)
        fn.addToRolePolicy(
          new PolicyStatement({ actions: permission.actions, resources: permission.resources }),
        );
    }
  }
}
