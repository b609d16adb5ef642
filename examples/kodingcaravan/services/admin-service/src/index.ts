import { startHttpService } from '@kodingcaravan/shared';

startHttpService('admin-service', 3009);
