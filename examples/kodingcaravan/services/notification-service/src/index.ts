import { startHttpService } from '@kodingcaravan/shared';

startHttpService('notification-service', 3005);
