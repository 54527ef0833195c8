import type { Runtime } from '../runtime/types.js';
import type { ExpectedEvents } from './expected-events.js';

/**
 * `runtime`, except that each start, stop and remove first records the engine events it is
 * about to cause in `expected`. Every other member is `runtime`'s own, called on `runtime`
 * itself, so state it keeps stays in one place however many wrappers there are.
 */
export function expectingRuntime(runtime: Runtime, expected: ExpectedEvents): Runtime {
  const overrides: Pick<Runtime, 'startContainer' | 'stopContainer' | 'removeContainer'> = {
    startContainer(id) {
      expected.expect(id, ['start']);
      return runtime.startContainer(id);
    },
    stopContainer(id, timeoutSeconds) {
      expected.expect(id, ['kill', 'die', 'stop']);
      return runtime.stopContainer(id, timeoutSeconds);
    },
    removeContainer(id) {
      expected.expect(id, ['kill', 'die', 'destroy']);
      return runtime.removeContainer(id);
    },
  };
  return new Proxy(runtime, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
