/** Thrown where a test pulls the plug: the process "dies" at that step boundary. */
export class InjectedCrash extends Error {
  constructor(step: string) {
    super(`injected crash at ${step}`);
    this.name = 'InjectedCrash';
  }
}

/**
 * Wraps an object (a store, a gateway) so that chosen methods fail, before or after doing
 * their work, the next `times` times they are called: a crash before a write, or a lost
 * answer after it. Everything else passes through untouched.
 */
export function crashing<T extends object>(
  target: T,
  plan: Partial<Record<keyof T, { when: 'before' | 'after'; times?: number }>>,
): T {
  const remaining = new Map<PropertyKey, number>();
  for (const [name, step] of Object.entries(plan) as [string, { times?: number }][]) {
    remaining.set(name, step.times ?? 1);
  }
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      const step = plan[property as keyof T];
      if (typeof value !== 'function' || !step) return value;
      return async (...args: unknown[]) => {
        const left = remaining.get(property) ?? 0;
        if (left <= 0) return value.apply(object, args);
        remaining.set(property, left - 1);
        if (step.when === 'before') throw new InjectedCrash(`before ${String(property)}`);
        await value.apply(object, args);
        throw new InjectedCrash(`after ${String(property)}`);
      };
    },
  });
}
