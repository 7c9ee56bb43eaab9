/** @sand-boxer/client — a team's `sandboxer serve` as a SandboxService (the CLI's `--server`, the action's `server-url`). */
export { RemoteError, reviveError, ServerConnection, type ServerSettings } from './connection.js';
export { RemoteService } from './remote-service.js';
