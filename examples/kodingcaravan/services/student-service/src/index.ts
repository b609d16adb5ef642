import { startHttpService } from '@kodingcaravan/shared';

startHttpService('student-service', 3001);
