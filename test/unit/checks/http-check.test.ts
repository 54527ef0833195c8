import { strict as assert } from 'node:assert';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { httpCheck } from '../../../src/checks/http-check.js';
import { CheckFailedError } from '../../../src/checks/errors.js';
import { systemClock } from '../../../src/util/clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

/**
 * An HTTP check against a server on loopback that answers an endless body: berth reads the first
 * 64 KiB at most, then closes the connection; the server sees it closed having sent a bounded amount.
 */
describe('an HTTP check (httpCheck) against an endless body', () => {
  let server: Server;
  let port: number;
  const ended: { written: number }[] = [];
  const signal = new AbortController().signal;

  /** Writes `first`, then 64 KiB chunks of zeros for as long as the client reads. */
  function endless(response: ServerResponse, first: string): void {
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.write(first);
    const pump = () => {
      while (!response.destroyed && response.write(chunk)) written += chunk.length;
    };
    response.on('drain', pump);
    response.on('close', () => ended.push({ written }));
    pump();
  }

  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/starts-ok') endless(response, 'ok\n');
      else if (request.url === '/zeros') endless(response, '');
      else if (request.url === '/reset') request.socket.resetAndDestroy();
      else response.writeHead(503).end('x'.repeat(1024));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function container(): { runtime: FakeRuntime; id: string } {
    const runtime = new FakeRuntime(systemClock);
    const id = runtime.addForeignContainer('web-1');
    runtime.containers.get(id)!.ports = [{ container: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }];
    return { runtime, id };
  }
  const check = (path: string, content?: string) => ({
    path,
    port: 8080,
    attempts: 1,
    wait: 0,
    timeout: 30,
    ...(content === undefined ? {} : { content }),
  });
  const closed = async (count: number) => {
    while (ended.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
    return ended[count - 1]!;
  };

  it('passes on content found in the first bytes, and closes the endless body', async () => {
    const { runtime, id } = container();
    assert.deepEqual(await httpCheck(runtime, systemClock, id, check('/starts-ok', 'ok'), signal), { attempts: 1 });
    const { written } = await closed(1);
    assert.ok(written < 64 * 1024 * 1024, `the server wrote ${written} bytes before the check closed the connection`);
  });

  it('fails when the content is not in the first 64 KiB, saying so, and closes the body', async () => {
    const { runtime, id } = container();
    await assert.rejects(httpCheck(runtime, systemClock, id, check('/zeros', 'ok'), signal), (error: Error) => {
      assert.ok(error instanceof CheckFailedError);
      assert.equal(
        error.message,
        'check /zeros on web-1 failed after 1 attempts: the body does not contain "ok" in its first 64 KiB',
      );
      return true;
    });
    const { written } = await closed(2);
    assert.ok(written < 64 * 1024 * 1024, `the server wrote ${written} bytes before the check closed the connection`);
  });

  it('says a connection dropped before an answer may mean the app is not listening yet', async () => {
    const { runtime, id } = container();
    await assert.rejects(httpCheck(runtime, systemClock, id, check('/reset', 'ok'), signal), (error: Error) => {
      assert.equal(
        error.message,
        'check /reset on web-1 failed after 1 attempts: the connection was closed before a whole answer (ECONNRESET): is the app listening on port 8080?',
      );
      return true;
    });
  });

  it('reads no body when no content is asked for: the status decides', async () => {
    const { runtime, id } = container();
    assert.deepEqual(await httpCheck(runtime, systemClock, id, check('/zeros'), signal), { attempts: 1 });
    await closed(3);
    await assert.rejects(
      httpCheck(runtime, systemClock, id, check('/unavailable', 'ok'), signal),
      /failed after 1 attempts: HTTP 503$/,
    );
  });
});
