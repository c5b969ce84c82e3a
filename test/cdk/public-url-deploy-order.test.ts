import { OPERATION_ACCESS } from '../../lambdas/runtime/operation-access.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

/**
 * Review finding (issue 20): the public URL parameter is written from the distribution's
 * domain, and the distribution depends (through the API's integrations) on every API
 * function. CloudFormation therefore creates the parameter only after every function has been
 * updated AND the distribution's own update has been deployed. On an upgrade of a storefront
 * deployed before the parameter existed, the updated functions start in that window, find no
 * parameter, and answer 503 (before any charge) to createOrder and getOrder for as long as
 * CloudFront takes to deploy. extendMachine no longer reads it (its answers carry no link and
 * mppx takes the realm from configuration), so an agent can always extend a lease that ends
 * in that window. docs/deploy-notes.md tells the operator of the window on that one upgrade.
 *
 * `it.failing`: passes while the window stands (for createOrder); once closed, drop `.failing`.
 */
const { template } = storefrontStack({ 'storefront:testPayments': true });
const resources = resourcesOf(template);

function dependenciesOf(id: string): Set<string> {
  const seen = new Set<string>();
  const todo = [id];
  while (todo.length) {
    const current = todo.pop() as string;
    const resource = resources[current];
    const text = JSON.stringify(resource ?? {});
    const dependsOn = ([] as string[]).concat((resource?.DependsOn as string[] | string) ?? []);
    for (const other of Object.keys(resources)) {
      if (other === current || seen.has(other)) continue;
      if (dependsOn.includes(other) || text.includes(`"${other}"`)) {
        seen.add(other);
        todo.push(other);
      }
    }
  }
  return seen;
}

const [parameterId] = Object.entries(resourcesOf(template, 'AWS::SSM::Parameter')).find(([id]) =>
  id.startsWith('PublicUrl'),
) ?? [''];
const paidOperations = Object.entries(OPERATION_ACCESS)
  .filter(([, access]) => access.publicUrl && access.takesPayments)
  .map(([operationId]) => operationId);

describe('deploying the public URL parameter', () => {
  it('is read by one payment operation only, the order (its answers carry links): never by an extension', () => {
    expect(paidOperations.sort()).toEqual(['createOrder']);
    expect(OPERATION_ACCESS.extendMachine?.publicUrl).toBeUndefined();
  });

  it.failing('never leaves a payment operation updated while the parameter it needs does not exist yet', () => {
    const parameterNeeds = dependenciesOf(parameterId);
    const functions = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(
      ([, fn]) =>
        paidOperations.some((operationId) =>
          JSON.stringify(fn.Properties?.Environment ?? {}).includes(`"${operationId}"`),
        ),
    );
    expect(functions).toHaveLength(paidOperations.length);
    // Each such function must either not need the parameter to answer, or be created after it.
    for (const [id] of functions) expect(parameterNeeds.has(id)).toBe(false);
  });
});
