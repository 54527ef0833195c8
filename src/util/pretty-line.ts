/**
 * `--log-format pretty`: one log record as people read a Dokku deploy. Headline steps get
 * `----->`, the deployed line `=====>` with the app's URLs below it, details are indented,
 * warnings and errors get ` !    `. Structured fields stay in the JSON format; here only the
 * time, the app and the message (plus a step's duration) are shown. Whatever a record carries
 * (a commit subject, an engine's error, a container's output) is stripped of terminal control
 * before it reaches the terminal: escape sequences, the bell and other control characters go. Pure.
 */
import { oneLine, stripControl } from './strip-control.js';

export interface Paint {
  dim(text: string): string;
  bold(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
}

const noPaint: Paint = { dim: (t) => t, bold: (t) => t, yellow: (t) => t, red: (t) => t };

/** Steps shown as headlines, the seed's `----->` lines. */
const HEADLINE_STEPS = new Set(['release', 'deploy', 'switch', 'retire', 'remove', 'ready']);

const MARK = { headline: '----->', section: '=====>', detail: '      ', warning: ' !    ' } as const;
const INDENT = ' '.repeat(MARK.detail.length + 1);
const APP_WIDTH = 10;

export function formatPrettyLine(log: Record<string, unknown>, paint: Paint = noPaint): string {
  const time = typeof log.time === 'number' ? new Date(log.time).toTimeString().slice(0, 8) : '--:--:--';
  const app = typeof log.app === 'string' ? oneLine(log.app) : '';
  const level = typeof log.level === 'number' ? log.level : 30;
  const message = stripControl(String(log.msg ?? ''));
  const step = typeof log.step === 'string' ? log.step : undefined;
  const prefix = `${paint.dim(time)} ${app.padEnd(APP_WIDTH)} `;
  const continuation = ' '.repeat(time.length + 1 + Math.max(app.length, APP_WIDTH) + 1) + INDENT;

  if (step === 'deployed') {
    const urls = Array.isArray(log.urls) ? log.urls.map((url) => oneLine(String(url))) : [];
    return [
      `${prefix}${paint.bold(`${MARK.section} ${message.replace(/ at .*$/, '')}${durationOf(log)}`)}`,
      ...urls.map((url) => `${continuation}${url}`),
    ].join('\n');
  }
  if (typeof log.output === 'string') {
    const lines = stripControl(log.output).replace(/\n$/, '').split('\n');
    return [
      `${prefix}${MARK.section} ${message}`,
      ...lines.map((line) => `${continuation}${line}`),
      `${prefix}${MARK.section} end of ${app || 'container'} output`,
    ].join('\n');
  }
  if (level >= 40) {
    const paintLevel = level >= 50 ? paint.red : paint.yellow;
    return `${prefix}${paintLevel(`${MARK.warning} ${message}${errorOf(log, message)}`)}`;
  }
  const headline =
    step !== undefined &&
    (HEADLINE_STEPS.has(step) ||
      (step === 'checks' && log.check === undefined) ||
      (step === 'checks' && log.check === 'wait'));
  return `${prefix}${headline ? MARK.headline : MARK.detail} ${message}${headline ? '' : durationOf(log, paint)}`;
}

function durationOf(log: Record<string, unknown>, paint: Paint = noPaint): string {
  if (typeof log.durationMs !== 'number') return '';
  return paint.dim(` (${(log.durationMs / 1000).toFixed(1)} s)`);
}

/** The error's own message when the log message does not already carry it. */
function errorOf(log: Record<string, unknown>, message: string): string {
  const err = log.err as { message?: unknown } | undefined;
  const text = typeof err?.message === 'string' ? err.message : typeof log.reason === 'string' ? log.reason : undefined;
  if (text === undefined) return '';
  const shown = stripControl(text);
  return message.includes(shown) ? '' : `: ${shown}`;
}
