/**
 * The engine's streaming answers (events, pull progress) are newline-delimited JSON. Chunks may
 * split a line, or a UTF-8 character, anywhere; a line that is not JSON is skipped.
 */
import { StringDecoder } from 'node:string_decoder';

export class JsonLineDecoder {
  private readonly text = new StringDecoder('utf8');
  private pending = '';

  /** The complete values in `chunk` together with what came before it. */
  push(chunk: Buffer | string): unknown[] {
    this.pending += typeof chunk === 'string' ? chunk : this.text.write(chunk);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return parseLines(lines);
  }

  /** The value of a last line that had no newline. */
  end(): unknown[] {
    const rest = this.pending + this.text.end();
    this.pending = '';
    return parseLines([rest]);
  }
}

/** Calls `onValue` for each value of the stream; resolves at its end, rejects when it fails or closes early. */
export async function forEachJsonLine(
  stream: AsyncIterable<Buffer | string>,
  onValue: (value: unknown) => void,
): Promise<void> {
  const decoder = new JsonLineDecoder();
  for await (const chunk of stream) {
    for (const value of decoder.push(chunk)) onValue(value);
  }
  for (const value of decoder.end()) onValue(value);
}

function parseLines(lines: string[]): unknown[] {
  const values: unknown[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    try {
      values.push(JSON.parse(trimmed));
    } catch {
      // Not JSON: skipped, per the contract above.
    }
  }
  return values;
}
