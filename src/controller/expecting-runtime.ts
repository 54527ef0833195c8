import type { Runtime } from '../runtime/types.js';
import type { ExpectedEvents } from './expected-events.js';

/**
 * `runtime`, except that each start, stop and remove first records the engine events it is
 * about to cause in `expected`. Every other method is `runtime`'s own (it is the prototype).
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
  return Object.assign(Object.create(runtime) as Runtime, overrides);
}
