// Package attune holds the domain types that every stage of the Attune
// pipeline shares: the customer event as it arrives on NATS, the analysis the
// NLP stage derives from it, the embedding vector, the behavioral features of
// a customer, the segment a text belongs to, and the error kinds that decide
// whether a failed event is dead-lettered or retried.
//
// The package imports only the standard library and no stage package, so that
// ingest, nlp, embed, cluster and index can all depend on it without depending
// on each other. Wiring lives in cmd/attune.
package attune
