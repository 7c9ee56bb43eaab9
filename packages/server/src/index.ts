/** @sand-boxer/server — `sandboxer serve`: the manager over REST. */
export { type AppOptions, createApp } from './app.js';
export { bearerAuth, isLoopback, loadTokens } from './auth.js';
export { errorResponse } from './http-errors.js';
export { Operations } from './operations.js';
export { type RunningServer, type ServerOptions, startServer } from './server.js';
