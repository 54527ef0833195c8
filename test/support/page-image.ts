/**
 * An image for the canary's tests and bench: busybox httpd whose `PAGE_PATH` (a CGI script)
 * answers `body`, or 500 to one request in `failOneIn` when given, after `delaySeconds` when
 * given; `/health` answers `ok` at once, so the revision passes its checks whatever its page does.
 */
import { buildTestImage } from './docker.js';

/** The path the page answers on. */
export const PAGE_PATH = '/cgi-bin/page';

export interface PageBehaviour {
  body: string;
  /** One request in this many answers 500 (at random). */
  failOneIn?: number;
  /** Seconds each answer of the page takes. */
  delaySeconds?: number;
}

/** Builds `repository:tag` and resolves to its image id. */
export function buildPageImage(repository: string, tag: string, page: PageBehaviour): Promise<string> {
  const fail =
    page.failOneIn === undefined
      ? ''
      : `if [ $((RANDOM % ${page.failOneIn})) -eq 0 ]; then printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nbroken'; exit 0; fi\n`;
  const delay = page.delaySeconds === undefined ? '' : `/bin/busybox sleep ${page.delaySeconds}\n`;
  return buildTestImage(repository, tag, {
    extraFiles: {
      [PAGE_PATH.slice(1)]: `#!/bin/sh\n${delay}${fail}printf 'Content-Type: text/plain\\r\\n\\r\\n${page.body}'\n`,
    },
    command: `/bin/busybox chmod 755 /www${PAGE_PATH}; trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h /www & wait`,
  });
}
