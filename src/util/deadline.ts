/**
 * `promise`, unless `ms` pass first: then the rejection `expired()` makes. `promise` itself is
 * left to settle on its own; its outcome is then ignored.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  expired: () => Error = () => new Error(`no answer within ${ms} ms`),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
