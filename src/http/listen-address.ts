/** `--listen HOST:PORT`, parsed apart from the server so that parsing never loads fastify. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[V6]:PORT`; undefined for anything else. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** `HOST:PORT`, brackets around an IPv6 host. */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
