import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject, type ValidateFunction } from 'ajv';

const SCHEMA_RELATIVE_PATH = path.join('schemas', 'app.schema.json');

let schemaFile: string | undefined;
let validator: ValidateFunction | undefined;

/**
 * Absolute path of `schemas/app.schema.json`: the nearest one above this module,
 * which works from `src/`, `dist/` and `.build/src/` alike. Found once per process.
 */
export function appSchemaPath(): string {
  if (schemaFile !== undefined) return schemaFile;
  const moduleDir = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = moduleDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, SCHEMA_RELATIVE_PATH);
    if (existsSync(candidate)) return (schemaFile = candidate);
    if (path.dirname(dir) === dir) {
      throw new Error(`${SCHEMA_RELATIVE_PATH} not found in ${moduleDir} or any directory above it`);
    }
  }
}

/**
 * The one compiled validator for a `berth/v1` `App` document, built on first use.
 * It fills schema defaults into the data it validates (so callers pass a copy), and
 * reports every error with its schema node (`verbose`), for readable messages.
 */
export function appValidator(): ValidateFunction {
  if (validator !== undefined) return validator;
  const schema = JSON.parse(readFileSync(appSchemaPath(), 'utf8')) as AnySchemaObject;
  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true, verbose: true });
  return (validator = ajv.compile(schema));
}
