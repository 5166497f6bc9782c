package notify

import (
	"fmt"
	"log/slog"

	"github.com/gorilla/websocket"
)

// CloseReason names every way a session ends. The same value chooses the
// close code sent to the client (CloseCode, the one mapping), the level of
// the session's final log line and its reason label.
type CloseReason int

// Close reasons. The zero value means the session has not ended.
const (
	// ClientClosed: the client closed the socket or the connection was lost.
	ClientClosed CloseReason = iota + 1
	// BindTimeout: nothing was bound within Config.BindTimeout of the
	// upgrade (or of the last unbind).
	BindTimeout
	// Forbidden: a legacy `bind <id>` named a subscription this socket may
	// not bind (no grant for it, and no authenticated principal that may
	// manage it). A bad token, or a refused resume or re-authentication,
	// only earns an OperationOutcome frame.
	Forbidden
	// TokenExpired: the authorization behind the last binding ended.
	TokenExpired
	// SlowConsumer: the client sent requests faster than it read their
	// answers and the control queue filled.
	SlowConsumer
	// WriteTimeout: a write did not complete within Config.WriteWait or
	// failed; no close frame can be sent.
	WriteTimeout
	// ReadTimeout: nothing, not even a pong, arrived within
	// Config.PongWait; the peer is presumed dead.
	ReadTimeout
	// ProtocolError: the client broke the WebSocket protocol (gorilla has
	// already answered with close 1002).
	ProtocolError
	// TooFarBehind: a binding's cursor fell out of the event log's
	// retention window, or resume asked for pruned events.
	TooFarBehind
	// ServerShutdown: Hub.Shutdown.
	ServerShutdown
	// PolicyViolation: too many bindings on one socket.
	PolicyViolation
	// MessageTooBig: a client message exceeded Config.ReadLimit.
	MessageTooBig
	// UnknownSubscription: a legacy bind or a resume named a subscription
	// that does not exist or is not active.
	UnknownSubscription
	// TooManySockets: the socket's principal already had
	// Config.MaxSocketsPerPrincipal sockets open on this node.
	TooManySockets
)

var reasonNames = [...]string{
	ClientClosed:        "client_closed",
	BindTimeout:         "bind_timeout",
	Forbidden:           "forbidden",
	TokenExpired:        "token_expired",
	SlowConsumer:        "slow_consumer",
	WriteTimeout:        "write_timeout",
	ReadTimeout:         "read_timeout",
	ProtocolError:       "protocol_error",
	TooFarBehind:        "too_far_behind",
	ServerShutdown:      "server_shutdown",
	PolicyViolation:     "policy_violation",
	MessageTooBig:       "message_too_big",
	UnknownSubscription: "unknown_subscription",
	TooManySockets:      "too_many_sockets",
}

// String returns the reason as a stable snake_case label, e.g.
// "bind_timeout", for logs and metrics.
func (r CloseReason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("CloseReason(%d)", int(r))
}

// Application close codes; 4000–4999 are private-use codes.
const (
	CodeAuthExpired         = 4001
	CodeForbidden           = 4003
	CodeUnknownSubscription = 4004
	CodeBindTimeout         = 4008
	CodeTooFarBehind        = 4429
)

// CloseCode returns the WebSocket close code the server sends for r, or 0
// when it sends no close frame: the client already closed (gorilla echoes
// its close frame), the protocol error was answered by gorilla, or the
// connection is presumed dead. It is the only place that maps reasons to
// codes.
func (r CloseReason) CloseCode() int {
	switch r {
	case BindTimeout:
		return CodeBindTimeout
	case Forbidden:
		return CodeForbidden
	case TokenExpired:
		return CodeAuthExpired
	case SlowConsumer, PolicyViolation, TooManySockets:
		return websocket.ClosePolicyViolation // 1008
	case TooFarBehind:
		return CodeTooFarBehind
	case ServerShutdown:
		return websocket.CloseGoingAway // 1001
	case MessageTooBig:
		return websocket.CloseMessageTooBig // 1009; gorilla sends it itself
	case UnknownSubscription:
		return CodeUnknownSubscription
	}
	return 0 // ClientClosed, WriteTimeout, ReadTimeout, ProtocolError
}

// kick reports whether the server ended the session because of the
// client (logged at warn), as opposed to a normal ending (debug).
func (r CloseReason) kick() bool {
	return r != ClientClosed && r != ServerShutdown
}

// logLevel is the level of the session's final log line.
func (r CloseReason) logLevel() slog.Level {
	if r.kick() {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
