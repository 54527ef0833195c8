/** Docker's tag grammar, as `schemas/app.schema.json` states it for `spec.tag` (a unit test keeps the two equal). */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const TAG_RULE = "letters, digits, '_', '.' and '-', up to 128 characters, not starting with '.' or '-'";

/** Why `tag` is not a Docker tag, or undefined when it is one. */
export function tagProblem(tag: string): string | undefined {
  return TAG_PATTERN.test(tag) ? undefined : `"${tag}" is not a valid Docker tag (${TAG_RULE})`;
}
