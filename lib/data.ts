import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_DESIGN } from '../lambdas/adapters/dynamodb/table-design.js';

/** The storefront's one table, built from the shared table design. */
export class StorefrontData extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: { retain: boolean }) {
    super(scope, id);
    const {
      partitionKey,
      sortKey,
      timeToLiveAttribute,
      liveLeasesIndex,
      sweepIndex,
      leasesByKeyIndex,
    } = TABLE_DESIGN;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      sortKey: { name: sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Orders and leases are money: the table outlives the stack unless the operator says otherwise.
      deletionProtection: props.retain,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: liveLeasesIndex.name,
      partitionKey: { name: liveLeasesIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: liveLeasesIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: sweepIndex.name,
      partitionKey: { name: sweepIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: sweepIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // Added to an existing table, DynamoDB backfills it; a lease created before carries no
    // key_live_pk and is not counted against its key until it ends (docs/abuse.md).
    this.table.addGlobalSecondaryIndex({
      indexName: leasesByKeyIndex.name,
      partitionKey: { name: leasesByKeyIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: leasesByKeyIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...leasesByKeyIndex.projected],
    });
  }
}
