// Package endpoint owns where fhirbell is reached: the paths of its HTTP
// surface (FHIRPath for the FHIR API, WebSocketPath for the socket
// endpoint) and the public base URL of a request (Base), which every URL
// the server hands out starts with: REST Location headers and Bundle
// links, the websocket-url of $get-ws-binding-token and
// $websocket-ticket, and the fullUrls of the notifications sent on a
// socket. The REST API (subscription/subhttp) and the socket hub (notify)
// both ask the same Base, so behind a proxy they cannot disagree.
package endpoint
