import { sharedReady } from './index';

export function runWorker(
  name: string,
  tick: () => void | Promise<void>,
  intervalMs = 1000,
): NodeJS.Timeout {
  console.log(`WORKER_READY name=${name} shared=${sharedReady()} worker=ok`);

  const timer = setInterval(() => {
    Promise.resolve()
      .then(tick)
      .catch((err) => console.error(`[${name}] tick failed:`, err));
  }, intervalMs);

  const shutdown = () => {
    clearInterval(timer);
    console.log(`WORKER_STOPPED name=${name}`);
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return timer;
}
