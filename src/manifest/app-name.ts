/**
 * An app's name: a DNS label (lower case letters, digits and inner hyphens, at most 63), so it
 * can be a container name part, a repository path component and a vhost label. The schema's
 * `metadata.name.pattern` is this very text (a unit test holds them equal).
 */
export const APP_NAME_BODY = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

export const APP_NAME = new RegExp(`^${APP_NAME_BODY}$`);
