import { startHttpService } from '@kodingcaravan/shared';

startHttpService('api-gateway', 3000);
