/**
 * An AbortSignal that aborts on the first SIGTERM or SIGINT, so every part of the process drains
 * in order; a second signal exits at once.
 */
export function shutdownSignal(onFirst?: (signal: string) => void): AbortSignal {
  const controller = new AbortController();
  const handle = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    onFirst?.(signal);
    controller.abort(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  return controller.signal;
}
