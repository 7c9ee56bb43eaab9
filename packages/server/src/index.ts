/** @sand-boxer/server — `sandboxer serve`: the manager over REST. */
export { type AppOptions, createApp } from './app.js';
export { authenticate, type OidcVerifier } from './auth/authenticate.js';
export { adminTokens, type Credentials, loadAuthFile, mergeCredentials } from './auth/credentials.js';
export { oidcVerifier } from './auth/oidc.js';
export type { Principal, Role } from './auth/principal.js';
export { isLoopback, loadTokens } from './auth/tokens.js';
export { errorResponse } from './http-errors.js';
export { Operations } from './operations.js';
export { type RunningServer, type ServerOptions, startServer } from './server.js';
