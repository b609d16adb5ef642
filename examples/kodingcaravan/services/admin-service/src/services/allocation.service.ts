import ms from 'ms';

/** Allocation window in milliseconds (uses `ms`, a dependency of admin-service only). */
export function allocate(window: '2h' | '30m' = '2h'): number {
  return ms(window);
}
