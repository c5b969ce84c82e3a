/**
 * Resolves the CloudFormation intrinsics CDK leaves in a synthesised template's values (a
 * state machine definition, a function's environment: Fn::Join, Ref, Fn::GetAtt, Fn::Select,
 * Fn::GetAZs) to local stand-in values.
 */
export interface LocalNames {
  ref(logicalId: string): string;
  arn(logicalId: string): string;
  /** The zones Fn::GetAZs lists for the local region. */
  zones?: readonly string[];
}

/** The partition the local model runs in; the definition names it only through AWS::Partition. */
export const LOCAL_PARTITION = 'aws';
export const LOCAL_ZONES = ['local-1a', 'local-1b', 'local-1c'] as const;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const PSEUDO: Record<string, string> = {
  'AWS::Partition': LOCAL_PARTITION,
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

export function resolveIntrinsics(value: unknown, names: LocalNames): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, names));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key === 'Fn::Join') {
    const [separator, parts] = argument as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, names)).join(separator);
  }
  if (entries.length === 1 && key === 'Ref') {
    return PSEUDO[argument as string] ?? names.ref(argument as string);
  }
  if (entries.length === 1 && key === 'Fn::GetAZs') return [...(names.zones ?? LOCAL_ZONES)];
  if (entries.length === 1 && key === 'Fn::Select') {
    const [index, list] = argument as [unknown, unknown];
    const items = resolveIntrinsics(list, names) as unknown[];
    const item = items[Number(resolveIntrinsics(index, names))];
    if (item === undefined) throw new Error(`Fn::Select ${String(index)} is out of range`);
    return item;
  }
  if (entries.length === 1 && key === 'Fn::GetAtt') {
    const [logicalId, attribute] = argument as [string, string];
    if (attribute !== 'Arn')
      throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute} locally`);
    return names.arn(logicalId);
  }
  if (key?.startsWith('Fn::') && entries.length === 1)
    throw new Error(`cannot resolve ${key} locally`);
  return Object.fromEntries(entries.map(([name, item]) => [name, resolveIntrinsics(item, names)]));
}
