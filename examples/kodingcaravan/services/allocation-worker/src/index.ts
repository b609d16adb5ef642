import { loadEnv } from '@kodingcaravan/shared';
import { runWorker } from '@kodingcaravan/shared/worker';

async function main(): Promise<void> {
  loadEnv();
  // Like the audited repo: admin-service is reached by relative path, not as a
  // declared dependency. From dist/index.js this is services/admin-service/dist/.
  const { allocate } = await import('../../admin-service/dist/services/allocation.service');
  console.log(`ALLOCATION_READY admin-service=ok ms=${allocate()}`);
  runWorker('allocation-worker', () => {
    allocate();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
