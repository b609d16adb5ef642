import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as dotenv from 'dotenv';

/** Used by `@kodingcaravan/shared/worker` to prove this entry point was loaded. */
export function sharedReady(): 'ok' {
  return 'ok';
}

/** Loads `.env` from the working directory, but only when that file exists. */
export function loadEnv(): void {
  const file = path.join(process.cwd(), '.env');
  if (fs.existsSync(file)) {
    dotenv.config({ path: file });
  }
}

/**
 * Opt-in check (never called at import time). Throws listing every missing
 * variable. In cloud mode (DEPLOY_ENV set) a database URL is also required.
 */
export function validateRequiredEnvVars(env: NodeJS.ProcessEnv = process.env): void {
  const missing = ['NODE_ENV', 'JWT_SECRET'].filter((key) => !env[key]);
  if (env.DEPLOY_ENV) {
    const dbKeys = ['POSTGRES_URL', 'POSTGRES_URI', 'DATABASE_URL'];
    if (!dbKeys.some((key) => env[key])) {
      missing.push(dbKeys.join('|'));
    }
  }
  if (missing.length > 0) {
    throw new Error(`Missing required environment variables: ${missing.join(', ')}`);
  }
}

export function startHttpService(name: string, defaultPort: number): http.Server {
  const port = Number(process.env.PORT ?? defaultPort);
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', service: name }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  });

  server.listen(port, '0.0.0.0', () => {
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    console.log(`HTTP_READY name=${name} port=${actual}`);
  });

  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return server;
}
