import { startHttpService } from '@kodingcaravan/shared';

startHttpService('trainer-service', 3002);
