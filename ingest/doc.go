// Package ingest moves events in and out of NATS JetStream: it runs the
// embedded server when no external one is configured, declares the streams,
// publishes events with publish-side de-duplication, consumes them through a
// durable pull consumer, dead-letters what can never succeed and acknowledges
// the rest only after the handler has stored them durably.
//
// Subjects:
//
//	attune.events.<source>   events in (stream ATTUNE_EVENTS)
//	attune.dlq.<reason>      dead letters: original payload and headers plus
//	                         Attune-Reason/Attune-Error (stream ATTUNE_DLQ)
//	attune.control.<verb>    request/reply to a running worker
//	attune.segments.updated  segment table after each re-cluster
package ingest
