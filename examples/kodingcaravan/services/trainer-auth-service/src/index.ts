import { startHttpService } from '@kodingcaravan/shared';

startHttpService('trainer-auth-service', 3004);
