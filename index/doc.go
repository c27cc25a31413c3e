// Package index stores analysed events and the current segment set in one
// on-disk Bleve (scorch) index and searches them.
//
// Two kinds of document share the index, told apart by their "type" field:
//
//   - "event" documents, one per attune.Doc, with Event.ID as the document id,
//     so writing an event again replaces it: redelivered messages are stored
//     once.
//   - "segment" documents, one per attune.Segment, with id "segment:"+ID. They
//     hold the segment set the clusterer last published; ReplaceSegments swaps
//     the whole set in one batch.
//
// Writes are durable before they return: IndexDocs and ReplaceSegments wait
// until Bleve has persisted the batch to disk, because the caller acknowledges
// NATS messages right after. An acknowledged event is never only in memory.
//
// Searches run over event documents only. Query.Text is a Bleve query string
// (https://blevesearch.com/docs/Query-String-Query/) matched against the text
// and its stems, so "lost bag", +refund -thanks and label:negative all work;
// the structured Query fields add non-scoring filters on the keyword fields.
//
// The mapping is versioned (MappingVersion). An index built with another
// version is refused on Open rather than silently searched with a mapping the
// code does not expect.
package index
