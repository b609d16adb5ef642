import { startHttpService } from '@kodingcaravan/shared';

startHttpService('student-auth-service', 3003);
