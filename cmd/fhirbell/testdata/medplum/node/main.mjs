// Entry of the Node bundle: the WebSocket global first, then the script.
import './websocket-global.mjs';
import './subscribe.mjs';
