import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerRuntime } from '../../../src/runtime/docker/docker-runtime.js';
import {
  ContainerNotFoundError,
  EngineError,
  ImageNotFoundError,
  NameConflictError,
  NotManagedError,
  PortInUseError,
  PullError,
} from '../../../src/runtime/errors.js';
import {
  LABEL_APP,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_REPLICA,
  LABEL_SPEC_HASH,
  type ContainerCreateSpec,
  type RuntimeEvent,
} from '../../../src/runtime/types.js';
import { buildTestImage, cleanupNamespace, dockerCli, httpGet, uniqueNamespace } from '../../support/docker.js';
import { FakeRegistry } from './fake-registry.js';
import { listenOnFreePort, rejectsWith, sleep, waitFor } from '../../support/runtime-assertions.js';

const SECRET = `s3cret-${randomBytes(6).toString('hex')}`;
const LOCAL_REGISTRY = '127.0.0.1:5000';

describe('docker runtime against the real engine', function () {
  const imageNamespace = uniqueNamespace();
  const runtime = createDockerRuntime();
  const temporaryDirs: string[] = [];
  const volumes: string[] = [];
  let imageId: string;
  let namespace: string;

  before(async function () {
    imageId = await buildTestImage(`${imageNamespace}/web`, 'v1');
  });

  beforeEach(function () {
    namespace = uniqueNamespace();
  });

  afterEach(async function () {
    await cleanupNamespace(namespace);
    for (const volume of volumes.splice(0)) await dockerCli(['volume', 'rm', '-f', volume]);
    for (const dir of temporaryDirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  after(async function () {
    await cleanupNamespace(imageNamespace);
  });

  function managedSpec(overrides: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec {
    return {
      name: `${namespace}.web.${randomBytes(3).toString('hex')}.0`,
      image: imageId,
      env: {},
      labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_NAMESPACE]: namespace,
        [LABEL_APP]: 'web',
        [LABEL_SPEC_HASH]: 'h1',
        [LABEL_REPLICA]: '0',
      },
      ports: [{ container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }],
      volumes: [],
      resources: {},
      ...overrides,
    };
  }

  async function temporaryDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-runtime-test-'));
    temporaryDirs.push(dir);
    return dir;
  }

  it('ping reports the engine version and the API version the engine speaks', async function () {
    const info = await runtime.ping();
    const [engineVersion, apiVersion] = (
      await dockerCli(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}'])
    )
      .trim()
      .split(' ');
    assert.deepEqual(info, { engineVersion, apiVersion });
  });

  describe('containers', function () {
    it('creates, starts, lists, inspects, serves on an ephemeral 127.0.0.1 port, logs, stops and removes a managed container', async function () {
      const volume = `${namespace}-data`;
      volumes.push(volume);
      const hostDir = await temporaryDir();
      await writeFile(join(hostDir, 'note.txt'), 'from the host');
      const spec = managedSpec({
        command: [
          'sh',
          '-c',
          'echo line-1; /bin/busybox sleep 0.2; echo line-2 >&2; /bin/busybox sleep 0.2; echo line-3; exec /bin/busybox httpd -f -p 8080 -h /www',
        ],
        env: { SECRET_TOKEN: SECRET, GREETING: 'hello' },
        volumes: [
          { source: volume, target: '/data', readOnly: false },
          { source: hostDir, target: '/www/extra', readOnly: true },
        ],
        resources: { memory: '64m', cpus: 0.5 },
      });

      const id = await runtime.createContainer(spec);
      const created = JSON.parse(await dockerCli(['inspect', '--format', '{{json .}}', id])) as EngineInspect;
      assert.equal(created.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(created.HostConfig.NanoCpus, 500_000_000);
      assert.equal(created.HostConfig.RestartPolicy.Name, 'unless-stopped');
      assert.equal(created.HostConfig.Privileged, false);
      assert.equal(created.HostConfig.CapAdd, null);
      assert.notEqual(created.HostConfig.NetworkMode, 'host');
      assert.deepEqual(created.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
      assert.deepEqual(created.HostConfig.Mounts, [
        { Type: 'volume', Source: volume, Target: '/data' },
        { Type: 'bind', Source: hostDir, Target: '/www/extra', ReadOnly: true },
      ]);
      assert.ok(created.Config.Env.includes(`SECRET_TOKEN=${SECRET}`));
      assert.deepEqual(created.Config.Cmd, spec.command);

      await runtime.startContainer(id);
      await runtime.startContainer(id); // already started is not an error

      const listed = await runtime.listContainers(namespace);
      assert.equal(listed.length, 1);
      const [summary] = listed;
      assert.ok(summary);
      assert.equal(summary.id, id);
      assert.equal(summary.name, spec.name);
      assert.equal(summary.app, 'web');
      assert.equal(summary.specHash, 'h1');
      assert.equal(summary.replica, 0);
      assert.equal(summary.imageId, imageId);
      assert.equal(summary.state, 'running');
      assert.deepEqual(summary.labels, spec.labels);
      assert.ok(
        Math.abs(summary.createdAt - Date.now()) < 60_000,
        `createdAt ${summary.createdAt} is not in milliseconds`,
      );
      assert.equal(summary.ports.length, 1);
      const [port] = summary.ports;
      assert.ok(port);
      assert.equal(port.container, 8080);
      assert.equal(port.protocol, 'tcp');
      assert.equal(port.hostIp, '127.0.0.1');
      assert.ok(port.hostPort > 0);
      assert.equal((await runtime.listContainers(namespace, 'web')).length, 1);
      assert.deepEqual(await runtime.listContainers(namespace, 'other'), []);
      assert.deepEqual(await runtime.listContainers(uniqueNamespace()), []);

      const detail = await runtime.inspectContainer(id);
      assert.equal(detail.state, 'running');
      assert.equal(detail.name, spec.name);
      assert.equal(detail.imageId, imageId);
      assert.ok(detail.startedAt >= summary.createdAt - 1000 && detail.startedAt <= Date.now() + 1000);
      assert.equal(detail.restartCount, 0);
      assert.equal(detail.exitCode, 0);
      assert.equal(detail.error, '');
      assert.deepEqual(detail.ports, summary.ports);
      const image = await runtime.inspectImage(imageId);
      assert.deepEqual(
        detail.env,
        { ...image?.env, SECRET_TOKEN: SECRET, GREETING: 'hello' },
        'the image env, then the container env',
      );
      assert.deepEqual(detail.requestedPorts, spec.ports, 'an empty HostPort is an ephemeral port');

      const page = await waitFor('the container to serve HTTP', async () =>
        httpGet(port.hostPort).catch(() => undefined),
      );
      assert.deepEqual(page, { status: 200, body: `${imageNamespace}/web:v1` });
      assert.deepEqual(await httpGet(port.hostPort, '/extra/note.txt'), { status: 200, body: 'from the host' });

      await waitFor('all log lines', async () =>
        (await runtime.containerLogs(id, 100, [])).includes('line-3') ? true : undefined,
      );
      // stdout and stderr are copied by separate engine goroutines: under load their order across streams may swap.
      const lines = (text: string) => text.split('\n').filter(Boolean).sort();
      assert.deepEqual(
        lines(await runtime.containerLogs(id, 100, [])),
        ['line-1', 'line-2', 'line-3'],
        'both streams, demultiplexed',
      );
      const tail = lines(await runtime.containerLogs(id, 2, []));
      assert.equal(tail.length, 2, 'only the last two lines');
      assert.ok(!tail.includes('line-1'), `the last two lines, not the first: ${tail.join()}`);

      await runtime.stopContainer(id, 1);
      assert.equal((await runtime.inspectContainer(id)).state, 'exited');
      await runtime.stopContainer(id, 1); // already stopped is not an error

      await runtime.removeContainer(id);
      assert.deepEqual(await runtime.listContainers(namespace), []);
      await rejectsWith(runtime.inspectContainer(id), ContainerNotFoundError, 'inspectContainer', id.slice(0, 12));
      await runtime.removeContainer(id); // gone already is not an error
      assert.equal(
        (await dockerCli(['volume', 'ls', '-q', '--filter', `name=^${volume}$`])).trim(),
        volume,
        'the named volume is kept',
      );
    });

    it('reads the exit code of a crash from the engine log after its restart policy started it again', async function () {
      const since = Date.now();
      const crashing = await runtime.createContainer(managedSpec({ command: ['sh', '-c', 'exit 3'] }));
      const steady = await runtime.createContainer(
        managedSpec({ command: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'] }),
      );
      await runtime.startContainer(steady);
      await runtime.startContainer(crashing);
      await waitFor('a restart', async () =>
        (await runtime.inspectContainer(crashing)).restartCount >= 1 ? true : undefined,
      );
      assert.equal(await runtime.lastExitCode(crashing, since), 3);
      assert.equal(await runtime.lastExitCode(steady, since), undefined);
    });

    it('refuses to stop or remove a container without berth.managed=true, and leaves it running', async function () {
      const name = `${namespace}-unmanaged`;
      const id = (
        await dockerCli([
          'run',
          '-d',
          '--name',
          name,
          '--label',
          `${LABEL_NAMESPACE}=${namespace}`,
          '--label',
          `${LABEL_APP}=web`,
          imageId,
        ])
      ).trim();

      await rejectsWith(runtime.stopContainer(name, 1), NotManagedError, 'stopContainer', name);
      await rejectsWith(runtime.removeContainer(name), NotManagedError, 'removeContainer', name);
      await rejectsWith(runtime.stopContainer(id, 1), NotManagedError, 'stopContainer', name);
      await rejectsWith(runtime.removeContainer(id), NotManagedError, 'removeContainer', name);
      assert.equal((await dockerCli(['inspect', '--format', '{{.State.Running}}', name])).trim(), 'true');
      assert.deepEqual(await runtime.listContainers(namespace), [], 'an unmanaged container is not listed');
    });

    it('rejects a taken name with NameConflictError, without the env in the message', async function () {
      const spec = managedSpec({ env: { SECRET_TOKEN: SECRET } });
      await runtime.createContainer(spec);
      const error = await rejectsWith(runtime.createContainer(spec), NameConflictError, 'createContainer', spec.name);
      assert.ok(!error.message.includes(SECRET));
    });

    it('rejects a missing container with ContainerNotFoundError, except removeContainer', async function () {
      const name = `${namespace}-missing`;
      await rejectsWith(runtime.inspectContainer(name), ContainerNotFoundError, 'inspectContainer', name);
      await rejectsWith(runtime.startContainer(name), ContainerNotFoundError, 'startContainer', name);
      await rejectsWith(runtime.stopContainer(name, 1), ContainerNotFoundError, 'stopContainer', name);
      await rejectsWith(runtime.containerLogs(name, 10, []), ContainerNotFoundError, 'containerLogs', name);
      await runtime.removeContainer(name);
    });

    it('rejects a missing image on create with ImageNotFoundError', async function () {
      const image = `${namespace}/absent:v0`;
      await rejectsWith(runtime.createContainer(managedSpec({ image })), ImageNotFoundError, 'createContainer', image);
    });

    it('keeps env values out of the engine messages it passes on', async function () {
      // The engine echoes a malformed entry: "invalid environment variable: =<value>".
      const spec = managedSpec({ env: { '': SECRET } });
      const error = await rejectsWith(
        runtime.createContainer(spec),
        EngineError,
        'createContainer',
        spec.name,
        'invalid environment variable',
      );
      assert.equal(error.statusCode, 400);
      assert.ok(!error.message.includes(SECRET), error.message);
      assert.equal(error.cause, undefined, 'the raw engine error would carry the value');
    });

    it("rejects a start on a host port another process holds with PortInUseError, in berth's words", async function () {
      const blocker = await listenOnFreePort();
      try {
        const hostPort = (blocker.address() as { port: number }).port;
        const spec = managedSpec({
          ports: [{ container: 8080, host: hostPort, hostIp: '127.0.0.1', protocol: 'tcp' }],
        });
        const id = await runtime.createContainer(spec);
        const error = await rejectsWith(
          runtime.startContainer(id),
          PortInUseError,
          'startContainer',
          id.slice(0, 12),
          `host port 127.0.0.1:${hostPort} is in use by something else`,
        );
        assert.ok(error instanceof EngineError);
        assert.equal(error.statusCode, 500);
      } finally {
        blocker.close();
      }
    });

    it('rejects a memory limit that does not parse, before asking the engine', async function () {
      const spec = managedSpec({ resources: { memory: 'plenty' } });
      await rejectsWith(
        runtime.createContainer(spec),
        EngineError,
        'createContainer',
        spec.name,
        'invalid memory limit "plenty"',
      );
      assert.deepEqual(await runtime.listContainers(namespace), []);
    });
  });

  describe('images', function () {
    it('inspects an image, and answers undefined for a missing one', async function () {
      const image = await runtime.inspectImage(imageId);
      assert.ok(image);
      assert.equal(image.id, imageId);
      assert.deepEqual(image.repoTags, [`${imageNamespace}/web:v1`]);
      assert.deepEqual(image.repoDigests, []);
      assert.ok(
        Math.abs(image.createdAt - Date.now()) < 3_600_000,
        `createdAt ${image.createdAt} is not in milliseconds`,
      );
      assert.ok(image.size > 1_000_000);
      assert.ok(image.env?.PATH, 'the env the image sets (PATH)');
      assert.deepEqual(await runtime.inspectImage(`${imageNamespace}/web:v1`), image);
      assert.equal(await runtime.inspectImage(`${namespace}/absent:v0`), undefined);
    });

    it('tags, lists and untags the images of one repository', async function () {
      const repository = `${namespace}/web`;
      await runtime.tagImage(imageId, repository, 'v1');
      await runtime.tagImage(`${imageNamespace}/web:v1`, repository, 'latest');
      const secondId = await buildTestImage(repository, 'v2', { body: 'second' });
      const elsewhereId = await buildTestImage(`${repository}-extra`, 'v1', { body: 'elsewhere' });
      assert.notEqual(secondId, imageId);

      const listed = await runtime.listImages(repository);
      assert.deepEqual(listed.map((image) => image.id).sort(), [imageId, secondId].sort());
      assert.ok(!listed.some((image) => image.id === elsewhereId), 'a repository sharing the prefix is not listed');
      const first = listed.find((image) => image.id === imageId);
      assert.deepEqual(first?.repoTags.filter((tag) => tag.startsWith(`${repository}:`)).sort(), [
        `${repository}:latest`,
        `${repository}:v1`,
      ]);

      await runtime.untagImage(`${repository}:latest`);
      await assert.rejects(dockerCli(['image', 'inspect', `${repository}:latest`]), /No such image/i);
      assert.equal((await dockerCli(['image', 'inspect', '--format', '{{.Id}}', `${repository}:v1`])).trim(), imageId);
      await runtime.untagImage(`${repository}:latest`); // gone already is not an error
      assert.deepEqual(
        (await runtime.listImages(repository)).map((image) => image.id).sort(),
        [imageId, secondId].sort(),
      );
    });

    it('rejects tagging a missing image with ImageNotFoundError', async function () {
      const source = `${namespace}/absent:v0`;
      await rejectsWith(runtime.tagImage(source, `${namespace}/web`, 'v1'), ImageNotFoundError, 'tagImage', source);
    });
  });

  describe('pulls', function () {
    let registry: FakeRegistry | undefined;
    const savedEnv = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, PATH: process.env.PATH };

    afterEach(async function () {
      Object.assign(process.env, savedEnv);
      if (savedEnv.DOCKER_CONFIG === undefined) delete process.env.DOCKER_CONFIG;
      await registry?.close();
      registry = undefined;
    });

    async function configWith(config: object): Promise<void> {
      const dir = await temporaryDir();
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
      process.env.DOCKER_CONFIG = dir;
    }

    it(`pulls an image from the registry at ${LOCAL_REGISTRY}`, async function () {
      const ref = `${LOCAL_REGISTRY}/${namespace}/web:v1`;
      await dockerCli(['tag', imageId, ref]);
      await dockerCli(['push', ref]);
      await dockerCli(['rmi', ref]);
      assert.equal(await runtime.inspectImage(ref), undefined);

      await runtime.pullImage(ref);
      assert.equal((await runtime.inspectImage(ref))?.id, imageId);
    });

    it('presents the credentials of config.json auths to the registry', async function () {
      registry = await FakeRegistry.start();
      await configWith({
        auths: { [registry.host]: { auth: Buffer.from('berth-user:berth-pass').toString('base64') } },
      });
      const ref = `${registry.host}/${namespace}/web:missing`;
      await rejectsWith(runtime.pullImage(ref), PullError, 'pullImage', ref, 'manifest unknown');
      assert.ok(
        registry.credentials.includes('berth-user:berth-pass'),
        `the registry saw ${JSON.stringify(registry.credentials)}`,
      );
    });

    it('asks the credential helper config.json names for the registry', async function () {
      registry = await FakeRegistry.start();
      const helperDir = await temporaryDir();
      const helper = join(helperDir, 'docker-credential-berthtest');
      await writeFile(
        helper,
        '#!/bin/sh\nread server\n[ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"helper-pass"}\' "$server"\n',
      );
      await chmod(helper, 0o755);
      process.env.PATH = `${helperDir}:${savedEnv.PATH ?? ''}`;
      await configWith({ credHelpers: { [registry.host]: 'berthtest' } });
      await assert.rejects(runtime.pullImage(`${registry.host}/${namespace}/web:missing`), PullError);
      assert.ok(
        registry.credentials.includes('helper-user:helper-pass'),
        `the registry saw ${JSON.stringify(registry.credentials)}`,
      );
    });

    it('turns a failure the engine reports inside its progress stream into PullError', async function () {
      registry = await FakeRegistry.start();
      await configWith({ auths: { [registry.host]: { auth: Buffer.from('u:p').toString('base64') } } });
      const ref = `${registry.host}/${namespace}/web:broken`;
      await rejectsWith(runtime.pullImage(ref), PullError, 'pullImage', ref, 'unknown blob');
    });

    it('stops a pull when its signal aborts', async function () {
      registry = await FakeRegistry.start();
      await configWith({ auths: { [registry.host]: { auth: Buffer.from('u:p').toString('base64') } } });
      const ref = `${registry.host}/${namespace}/web:hang`;
      const started = Date.now();
      await rejectsWith(runtime.pullImage(ref, AbortSignal.timeout(500)), PullError, 'pullImage', ref, 'aborted');
      assert.ok(Date.now() - started < 10_000);
    });
  });

  describe('events', function () {
    it('delivers container events of the namespace’s managed containers and image events, nothing else, until closed', async function () {
      const otherNamespace = uniqueNamespace();
      const events: RuntimeEvent[] = [];
      const errors: Error[] = [];
      const subscription = await runtime.subscribe(
        namespace,
        (event) => events.push(event),
        (error) => errors.push(error),
      );
      try {
        const id = await runtime.createContainer(managedSpec());
        await runtime.startContainer(id);
        const otherSpec = managedSpec({ labels: { ...managedSpec().labels, [LABEL_NAMESPACE]: otherNamespace } });
        const otherId = await runtime.createContainer({ ...otherSpec, name: `${otherNamespace}.web.0` });
        const unmanagedId = (await dockerCli(['create', '--label', `${LABEL_NAMESPACE}=${namespace}`, imageId])).trim();
        await dockerCli(['exec', id, '/bin/busybox', 'true']);

        await runtime.stopContainer(id, 1);
        await runtime.removeContainer(id);
        await runtime.removeContainer(otherId);
        await dockerCli(['rm', '-f', unmanagedId]);
        await dockerCli(['tag', imageId, `${namespace}/web:evt`]);

        await waitFor('die, destroy and tag events', () =>
          has(events, { kind: 'container', action: 'die', id }) &&
          has(events, { kind: 'container', action: 'destroy', id }) &&
          has(events, { kind: 'image', action: 'tag', id: imageId, ref: `${namespace}/web:evt` })
            ? true
            : undefined,
        );

        for (const event of events.filter((e) => e.kind === 'container')) {
          assert.deepEqual(event, { kind: 'container', action: event.action, id, namespace, app: 'web' });
          assert.doesNotMatch(event.action, /^exec|:/);
        }
        assert.ok(has(events, { kind: 'container', action: 'start', id }));
        assert.deepEqual(errors, []);

        subscription.close();
        const seen = events.length;
        await dockerCli(['tag', imageId, `${namespace}/web:after-close`]);
        await sleep(500);
        assert.equal(events.length, seen, 'no event after close()');
        assert.deepEqual(errors, [], 'close() is not an error');
      } finally {
        subscription.close();
        await cleanupNamespace(otherNamespace);
      }
    });
  });
});

interface EngineInspect {
  Config: { Env: string[]; Cmd: string[] };
  HostConfig: {
    Memory: number;
    NanoCpus: number;
    RestartPolicy: { Name: string };
    Privileged: boolean;
    CapAdd: string[] | null;
    NetworkMode: string;
    PortBindings: unknown;
    Mounts: unknown;
  };
}

function has(events: RuntimeEvent[], expected: Partial<RuntimeEvent>): boolean {
  return events.some((event) =>
    Object.entries(expected).every(([key, value]) => (event as Record<string, unknown>)[key] === value),
  );
}
