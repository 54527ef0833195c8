/** Back-to-back requests from N concurrent clients until stopped; counts what failed and why. */
export interface LoadResult {
  requests: number;
  failures: { at: number; reason: string }[];
  /** Each distinct body, with when it was first seen. */
  firstSeen: Map<string, number>;
}

export interface Load {
  readonly result: LoadResult;
  stop(): Promise<LoadResult>;
}

/**
 * `send` performs one request; a rejection, a status other than 200, or a body `accept` refuses
 * counts as a failure.
 */
export function startLoad(
  send: () => Promise<{ status: number; body: string }>,
  accept: (body: string) => boolean,
  clients = 4,
): Load {
  const result: LoadResult = { requests: 0, failures: [], firstSeen: new Map() };
  let running = true;
  const client = async () => {
    while (running) {
      result.requests++;
      try {
        const { status, body } = await send();
        if (status !== 200 || !accept(body))
          result.failures.push({ at: Date.now(), reason: `HTTP ${status}: ${body.slice(0, 80)}` });
        else if (!result.firstSeen.has(body)) result.firstSeen.set(body, Date.now());
      } catch (error) {
        result.failures.push({ at: Date.now(), reason: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  const workers = Array.from({ length: clients }, client);
  return {
    result,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return result;
    },
  };
}
