import type { ErrorObject } from 'ajv';
import { displayPath } from './paths.js';
import { quote } from './printable.js';
import { childPointer } from './source-map.js';
import { TAG_RULE } from './tag.js';

/** A problem message and the node it is about: the node's key or its value. */
export interface NodeMessage {
  pointer: string;
  which: 'key' | 'value';
  message: string;
}

/** Raw source text of a plain scalar, to show how the user wrote it. */
type ScalarSource = (pointer: string) => string | undefined;

interface SchemaNode {
  type?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, unknown>;
}

interface Grammar {
  noun: string;
  rule: string;
}

/** What the schema's patterns mean, by pointer shape (array indices as `*`). */
const GRAMMARS: Record<string, Grammar> = {
  '/metadata/name': {
    noun: 'app name',
    rule: "lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit",
  },
  '/spec/image': {
    noun: 'image repository',
    rule: "lowercase path components separated by '/', optionally after a registry host[:port]; no tag or digest, those go in spec.tag and spec.digest",
  },
  '/spec/tag': {
    noun: 'image tag',
    rule: TAG_RULE,
  },
  '/spec/digest': { noun: 'digest', rule: '"sha256:" followed by 64 lowercase hex digits' },
  '/spec/env': { noun: 'environment variable name', rule: "letters, digits and '_', not starting with a digit" },
  '/spec/ports/*/hostIp': { noun: 'IP address', rule: 'an IPv4 or IPv6 address such as 127.0.0.1 or ::1' },
  '/spec/volumes/*/target': { noun: 'mount target', rule: "an absolute path inside the container, starting with '/'" },
  '/spec/resources/memory': { noun: 'memory size', rule: 'a number with an optional unit b, k, m or g, such as 256m' },
  '/spec/checks/http/*/path': { noun: 'check path', rule: "a request path starting with '/'" },
  '/spec/domains/*': { noun: 'hostname', rule: "lowercase letters, digits, '-' and '.', labels of 1-63 characters" },
};

/** Keywords about a node's value, most specific first; a node gets one message from these. */
const VALUE_KEYWORDS = [
  'const',
  'enum',
  'type',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minLength',
  'maxLength',
  'minItems',
];

/**
 * Turns ajv errors (from a `verbose` validator) into one readable message per mistake:
 * unknown fields point at their key, missing fields at the parent's key, everything else
 * at the offending value. `document` is the data as written (before defaults).
 */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  document: unknown,
  scalarSource: ScalarSource,
): NodeMessage[] {
  const messages: NodeMessage[] = [];
  const valueErrors = new Map<string, ErrorObject>();
  const label = (pointer: string) => displayPath(pointer, document);

  for (const error of errors) {
    const pointer = error.instancePath;
    switch (error.keyword) {
      case 'required':
        messages.push({
          pointer,
          which: 'key',
          message: `${label(pointer)}: missing required field "${String(error.params.missingProperty)}"`,
        });
        break;
      case 'additionalProperties': {
        const field = String(error.params.additionalProperty);
        const known = Object.keys((error.parentSchema as SchemaNode | undefined)?.properties ?? {});
        const child = childPointer(pointer, field);
        messages.push({
          pointer: child,
          which: 'key',
          message: `${label(child)}: unknown field${suggestion(field, known)}`,
        });
        break;
      }
      case 'propertyNames':
        break;
      case 'uniqueItems': {
        const later = childPointer(pointer, Math.max(Number(error.params.i), Number(error.params.j)));
        const earlier = childPointer(pointer, Math.min(Number(error.params.i), Number(error.params.j)));
        messages.push({ pointer: later, which: 'value', message: `${label(later)}: duplicates ${label(earlier)}` });
        break;
      }
      default:
        if (error.propertyName !== undefined) {
          const grammar = GRAMMARS[shapeOf(pointer)];
          const rule = grammar ? `is not a valid ${grammar.noun} (${grammar.rule})` : 'is not an allowed field name';
          messages.push({
            pointer: childPointer(pointer, error.propertyName),
            which: 'key',
            message: `${label(pointer)}: ${quote(error.propertyName)} ${rule}`,
          });
        } else {
          const current = valueErrors.get(pointer);
          if (current === undefined || rank(error) < rank(current)) valueErrors.set(pointer, error);
        }
    }
  }
  for (const [pointer, error] of valueErrors) {
    messages.push({
      pointer,
      which: 'value',
      message: `${label(pointer)}: ${describeValueError(error, pointer, scalarSource)}`,
    });
  }
  return dedupe(messages);
}

function describeValueError(error: ErrorObject, pointer: string, scalarSource: ScalarSource): string {
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  const data: unknown = error.data;
  switch (error.keyword) {
    case 'const':
      return `must be ${JSON.stringify(error.params.allowedValue)}${butIs(data)}`;
    case 'enum':
      return `must be ${alternatives(error.params.allowedValues as unknown[])}${butIs(data)}`;
    case 'type': {
      const expected = expectation(schema);
      if (data === null) return `must be ${expected} (it is empty)`;
      const written = scalarSource(pointer);
      // An env value is a secret, whatever it looks like: the key says where, the value is never shown.
      if (schema.type === 'string' && written !== undefined)
        return pointer.startsWith('/spec/env/')
          ? `must be a string; write the value in quotes (${kindOf(data)} here; env values are never shown)`
          : `must be a string; write it in quotes: ${quote(written)}`;
      if (schema.type === 'integer' && typeof data === 'number') return `must be ${expected}`;
      return `must be ${expected}, not ${kindOf(data)}`;
    }
    case 'pattern': {
      const grammar = GRAMMARS[shapeOf(pointer)];
      if (grammar === undefined) return `${shown(data)} must match ${String(error.params.pattern)}`;
      return `${shown(data)} is not a valid ${grammar.noun} (${grammar.rule})`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      return `must be ${expectation(schema)}`;
    case 'minLength':
    case 'minItems':
      return 'must not be empty';
    case 'maxLength':
      return `must be at most ${String(error.params.limit)} characters long`;
    default:
      return error.message ?? `fails the schema's "${error.keyword}" rule`;
  }
}

/** What a schema node accepts, in words: "an integer from 1 to 65535". */
function expectation(schema: SchemaNode): string {
  switch (schema.type) {
    case 'integer':
      if (schema.minimum !== undefined && schema.maximum !== undefined)
        return `an integer from ${schema.minimum} to ${schema.maximum}`;
      if (schema.minimum !== undefined) return `an integer of at least ${schema.minimum}`;
      return 'an integer';
    case 'number':
      return schema.exclusiveMinimum !== undefined ? `a number greater than ${schema.exclusiveMinimum}` : 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    default:
      return `of type ${String(schema.type)}`;
  }
}

function kindOf(data: unknown): string {
  if (Array.isArray(data)) return 'a list';
  if (data === null) return 'empty';
  if (typeof data === 'object') return 'a mapping';
  if (typeof data === 'boolean') return 'a boolean';
  return `a ${typeof data}`;
}

function butIs(data: unknown): string {
  if (typeof data === 'string' || typeof data === 'number' || typeof data === 'boolean') return `, not ${shown(data)}`;
  return `, not ${kindOf(data)}`;
}

/** A scalar as YAML would write it, on one line: strings quoted (and cut when long), `.nan` and `.inf` for those numbers. */
function shown(data: unknown): string {
  if (typeof data === 'string') return quote(data);
  if (typeof data === 'number' && !Number.isFinite(data))
    return Number.isNaN(data) ? '.nan' : data > 0 ? '.inf' : '-.inf';
  return JSON.stringify(data);
}

function alternatives(values: readonly unknown[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  if (quoted.length <= 2) return quoted.join(' or ');
  return `one of ${quoted.join(', ')}`;
}

function rank(error: ErrorObject): number {
  const index = VALUE_KEYWORDS.indexOf(error.keyword);
  return index === -1 ? VALUE_KEYWORDS.length : index;
}

/** `/spec/ports/0/hostIp` -> `/spec/ports/*\/hostIp`. */
function shapeOf(pointer: string): string {
  return pointer.replace(/\/\d+(?=\/|$)/g, '/*');
}

function suggestion(field: string, known: readonly string[]): string {
  const tolerance = Math.max(1, Math.floor(field.length / 4));
  const close = known.find(
    (name) =>
      name.toLowerCase() === field.toLowerCase() ||
      // the length difference bounds the distance from below: no need to compute it for a long field
      (Math.abs(name.length - field.length) <= tolerance && editDistance(name, field) <= tolerance),
  );
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function dedupe(messages: readonly NodeMessage[]): NodeMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const key = `${m.pointer}\u0000${m.which}\u0000${m.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
