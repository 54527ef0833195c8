import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { validate as compiledValidator } from './generated/app-validator.js';

const SCHEMA_RELATIVE_PATH = path.join('schemas', 'app.schema.json');

let schemaFile: string | undefined;

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
 * The validator of a `berth/v1` `App` document: the schema compiled by ajv at build time
 * (scripts/compile-schema.mjs), so starting a process compiles nothing. It fills schema defaults
 * into the data it validates, and reports every error with its schema node (`verbose`), for
 * readable messages.
 */
export function appValidator(): ValidateFunction {
  return compiledValidator as ValidateFunction;
}
