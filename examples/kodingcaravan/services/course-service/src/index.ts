import { startHttpService } from '@kodingcaravan/shared';

startHttpService('course-service', 3011);
