// Package subscription is fhirbell's domain: stored resources and their
// versions, Subscriptions, topics, numbered events and the tokens that bind
// sockets to them.
//
// It defines the contracts that storage implements (Store, Tx; implemented
// by the memstore and postgres sub-packages and checked by the shared
// storetest suite) and the Service that every write goes through. The
// Service is the one place where a write becomes a new resource version, so
// it is where matching Subscriptions will be found and their events
// appended, inside the same Store transaction as the write.
//
// Dependencies point one way: subscription imports fhir; storage, the REST
// handlers (subhttp) and the WebSocket hub (notify) import subscription;
// subscription never imports them.
package subscription
