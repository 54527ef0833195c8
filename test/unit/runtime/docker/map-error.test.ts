import { strict as assert } from 'node:assert';
import {
  ContainerNotFoundError,
  EngineError,
  EngineUnavailableError,
  NameConflictError,
  PortInUseError,
  PullError,
} from '../../../../src/runtime/errors.js';
import { toRuntimeError } from '../../../../src/runtime/docker/map-error.js';

/** The shape of dockerode's errors for an engine answer. */
function engineAnswer(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
    statusCode,
    json: { message },
  });
}

function connectionError(code: string): Error {
  return Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });
}

const context = { operation: 'createContainer', object: 'dokku.web.abc.0', endpoint: 'unix:///var/run/docker.sock' };

describe('toRuntimeError', function () {
  it('maps connection failures to EngineUnavailableError naming the endpoint', function () {
    for (const code of ['ECONNREFUSED', 'ENOENT', 'EPIPE', 'ECONNRESET']) {
      const error = toRuntimeError(connectionError(code), context);
      assert.ok(error instanceof EngineUnavailableError);
      assert.equal(
        error.message,
        `createContainer dokku.web.abc.0: cannot reach the Docker engine at unix:///var/run/docker.sock (${code})`,
      );
    }
    assert.ok(toRuntimeError(new Error('socket hang up'), context) instanceof EngineUnavailableError);
  });

  it('maps statuses to the typed errors given, others to EngineError with the status', function () {
    const byStatus = { 404: ContainerNotFoundError, 409: NameConflictError };
    assert.ok(
      toRuntimeError(engineAnswer(404, 'No such container: x'), { ...context, byStatus }) instanceof
        ContainerNotFoundError,
    );
    const conflict = toRuntimeError(engineAnswer(409, 'Conflict. The container name "/x" is already in use'), {
      ...context,
      byStatus,
    });
    assert.ok(conflict instanceof NameConflictError);
    assert.equal(
      conflict.message,
      'createContainer dokku.web.abc.0: Conflict. The container name "/x" is already in use',
    );
    const other = toRuntimeError(engineAnswer(500, 'driver failed:\n  port 8080 already allocated'), {
      ...context,
      byStatus,
    });
    assert.ok(other instanceof EngineError);
    assert.equal(other.statusCode, 500);
    assert.equal(other.message, 'createContainer dokku.web.abc.0: driver failed: port 8080 already allocated');
    assert.ok(toRuntimeError(engineAnswer(500, 'denied'), { ...context, otherwise: PullError }) instanceof PullError);
  });

  it('reads the reason from dockerode’s message when the body had none', function () {
    const streamed = Object.assign(new Error('(HTTP code 404) unexpected - pull access denied for x '), {
      statusCode: 404,
      json: null,
    });
    assert.equal(
      toRuntimeError(streamed, context).message,
      'createContainer dokku.web.abc.0: pull access denied for x',
    );
  });

  it('redacts env entries and values, and keeps no cause that would hold them', function () {
    const env = { '': 'hunter2-long', TOKEN: 'abcdef', N: '1' };
    const error = toRuntimeError(
      engineAnswer(400, 'invalid environment variable: =hunter2-long (also abcdef) port 8081'),
      { ...context, env },
    );
    assert.equal(
      error.message,
      'createContainer dokku.web.abc.0: invalid environment variable: <redacted> (also <redacted>) port 8081',
    );
    assert.equal(error.cause, undefined);
  });

  it("says a taken host port in berth's words, whether a container or another process holds it", function () {
    const start = { ...context, operation: 'startContainer', object: 'ab12cd34ef56' };
    const byContainer = toRuntimeError(
      engineAnswer(
        500,
        'driver failed programming external connectivity on endpoint dokku.web.x.0 (0123): Bind for 127.0.0.1:18777 failed: port is already allocated',
      ),
      start,
    );
    assert.ok(byContainer instanceof PortInUseError);
    assert.equal(
      byContainer.message,
      'startContainer ab12cd34ef56: host port 127.0.0.1:18777 is in use by something else',
    );
    const byProcess = toRuntimeError(
      engineAnswer(
        500,
        'driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use',
      ),
      start,
    );
    assert.ok(byProcess instanceof PortInUseError && byProcess instanceof EngineError);
    assert.equal(byProcess.reason, 'host port 0.0.0.0:8080 is in use by something else');
  });
});
