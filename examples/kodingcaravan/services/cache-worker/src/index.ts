import { loadEnv } from '@kodingcaravan/shared';
import { runWorker } from '@kodingcaravan/shared/worker';

loadEnv();
runWorker('cache-worker', () => {});
