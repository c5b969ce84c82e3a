/**
 * What a machine adds to its SSH server's banner once it is usable (its first-boot script
 * writes it; the workflow's probe looks for it): a machine is reported active only when its
 * banner carries this marker, so "active" means "ready to log in".
 */
export const READY_BANNER_MARKER = 'storefront-ready';
