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
// Search runs over event documents only. Query.Text is a Bleve query string
// (https://blevesearch.com/docs/Query-String-Query/) matched against the text
// (English analysis) and its stems, so "lost bag", +refund -thanks and
// label:negative all work; plain words also match the Portuguese analysis
// of Portuguese events. The structured Query fields add non-scoring filters:
// keywords (segment, label, source, customer, aspect and aspect label,
// language), a sentiment range and a time range. Facets count the matching
// events per segment, aspect, source, label, language, sentiment band and
// time interval; hits carry highlighted snippets and can be sorted by
// relevance, time or sentiment, either way. Facets are counted from the
// postings of the matches, and a time-sorted page is read from a time window
// at the end the sort starts from; SearchBleve gives the same results the
// plain Bleve way, the baseline `attune bench index` measures against.
// Query.Validate explains what it rejects. SearchSegments finds segments by their name, terms and exemplars.
//
// DeleteCustomer erases a customer's event documents durably; Stats and Size
// report document counts and bytes on disk.
//
// The mapping is versioned (MappingVersion). An index built with another
// version is refused on Open rather than silently searched with a mapping the
// code does not expect; `attune reindex` rebuilds it from the segment store.
package index
