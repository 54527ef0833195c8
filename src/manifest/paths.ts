import { MAX_QUOTED_LENGTH, quote } from './printable.js';
import { pointerSegments } from './source-map.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The dotted form of a JSON pointer into `document`, as people write it:
 * `/spec/ports/0/host` -> `spec.ports[0].host`, `/spec/env/MY-VAR` -> `spec.env["MY-VAR"]`.
 * The root is `document`. Always one line: other keys are quoted (and long ones cut) by `quote`.
 */
export function displayPath(pointer: string, document: unknown): string {
  let text = '';
  let node: unknown = document;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(node)) text += `[${segment}]`;
    else if (IDENTIFIER.test(segment) && segment.length <= MAX_QUOTED_LENGTH)
      text += text === '' ? segment : `.${segment}`;
    else text += `[${quote(segment)}]`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  return text === '' ? 'document' : text;
}

/** The value at a JSON pointer, or undefined when any step is missing. */
export function valueAt(document: unknown, pointer: string): unknown {
  let node: unknown = document;
  for (const segment of pointerSegments(pointer)) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
