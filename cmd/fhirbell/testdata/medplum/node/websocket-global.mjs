// Node before 22 has no global WebSocket, and @medplum/core reads
// WebSocket when it loads: give it the ws package's. Imported first by
// main.mjs, so it runs before @medplum/core is evaluated.
import { WebSocket } from 'ws';

globalThis.WebSocket ??= WebSocket;
