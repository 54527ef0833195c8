import type { ValidateFunction } from 'ajv';
import { validate as compiledValidator } from './generated/app-validator.js';

/**
 * The validator of a `berth/v1` `App` document: the schema compiled by ajv at build time
 * (scripts/compile-schema.mjs), so starting a process compiles nothing. It fills schema defaults
 * into the data it validates, and reports every error with its schema node (`verbose`), for
 * readable messages.
 */
export function appValidator(): ValidateFunction {
  return compiledValidator as ValidateFunction;
}
