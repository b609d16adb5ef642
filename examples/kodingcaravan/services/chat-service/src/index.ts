import { startHttpService } from '@kodingcaravan/shared';

startHttpService('chat-service', 3007);
