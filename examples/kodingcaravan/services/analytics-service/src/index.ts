import { startHttpService } from '@kodingcaravan/shared';

startHttpService('analytics-service', 3008);
