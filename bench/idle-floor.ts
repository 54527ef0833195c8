/**
 * Child process of the scale benchmark: the cheapest process that wakes up on berth's resync
 * schedule. Every PERIOD seconds (argument 1) it lists the manifest directory (argument 2) and
 * stats its files, then makes the two engine calls one resync makes (the namespace's containers,
 * argument 3, and every image), and reads the answers. Its CPU over the steady-state window is
 * the floor of what being awake at that rate costs on this machine; berth's idle CPU is reported
 * beside it. Runs until killed.
 */
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

const [period, dir, namespace] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
if (!(period > 0) || !dir || !namespace) throw new Error('usage: idle-floor PERIOD_SECONDS DIR NAMESPACE');
const engineSocket = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');

function get(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ socketPath: engineSocket, path }, (answer) => {
      let body = '';
      answer.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      answer.on('end', () => {
        JSON.parse(body);
        resolve();
      });
    })
      .on('error', reject)
      .end();
  });
}

async function wake(): Promise<void> {
  for (const name of readdirSync(dir!)) statSync(join(dir!, name));
  const filters = encodeURIComponent(JSON.stringify({ label: [`berth.namespace=${namespace}`] }));
  await Promise.all([get(`/containers/json?all=1&filters=${filters}`), get('/images/json')]);
}

setInterval(() => void wake(), period * 1000);
