import { startHttpService } from '@kodingcaravan/shared';

startHttpService('booking-service', 3010);
