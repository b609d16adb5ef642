import { startHttpService } from '@kodingcaravan/shared';

startHttpService('payment-service', 3006);
