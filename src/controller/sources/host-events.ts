/** A source of the host's own events: what changed on the engine, and whether it is reachable. */
export interface HostEventHandlers {
  /** Something of a managed app changed on the host (a container died, was removed, ...). */
  onApp(app: string): void;
  /** The image `ref` (`repository:tag`) appeared on the host. */
  onImage(ref: string): void;
  /** The stream was (re)established after an outage: resync everything. */
  onReconnect(): void;
  /** The stream broke; the engine is presumed unreachable until `onReconnect`. */
  onOutage(error: Error): void;
}

export interface HostEventSource {
  /** Subscribes; when the engine is unreachable now, keeps retrying in the background. */
  start(handlers: HostEventHandlers): Promise<void>;
  /**
   * Checks, without waiting, that the engine still answers: an engine that holds its event stream
   * open but answers nothing (hung, stopped) is reported through `onOutage`, and through
   * `onReconnect` once it answers again. Called when someone asks (readiness, a resync), never
   * on a timer of its own.
   */
  probe(): void;
  close(): void;
}
