/**
 * Docker's memory-size grammar (`docker run --memory`): a number with an optional binary unit
 * b, k, m, g, t, p (any case, optionally followed by `b` or `ib`, e.g. `256m`, `1g`, `512KiB`,
 * `1.5g`); a plain number is bytes. Returns whole bytes, or undefined when `text` does not parse.
 */
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function parseMemorySize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, amount = '', unit = ''] = match;
  const multiplier = UNITS[unit.toLowerCase()];
  return multiplier === undefined ? undefined : Math.floor(Number(amount) * multiplier);
}
