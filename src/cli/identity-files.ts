/** The identity files `--age-identity` (repeatable) and BERTH_AGE_IDENTITY_FILE (`:`-separated) name. */
export function identityFiles(values: { 'age-identity': string[] }, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...values['age-identity'], ...(env.BERTH_AGE_IDENTITY_FILE ?? '').split(':').filter(Boolean)];
}
