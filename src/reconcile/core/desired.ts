import type { App } from '../../manifest/types.js';

/** The desired state of one app, as the manifest directory currently determines it. */
export type Desired =
  | {
      kind: 'present';
      app: App;
      /** Set when the manifest is now invalid or conflicting and `app` is its last valid form. */
      invalid?: string;
    }
  | {
      kind: 'absent';
      /** Set when removal is held back (empty or unreadable directory, unparseable file). */
      hold?: string;
      /** Set when a manifest names the app but has never been valid: its problem. */
      invalid?: string;
    };
