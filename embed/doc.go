// Package embed turns texts into vectors through a local Ollama server.
//
// Two parts, used together by cmd/attune:
//
//   - [EnsureServer] finds an Ollama answering at the configured address, or
//     starts one the process owns (a "managed" server): it looks for an
//     ollama binary and, if none exists, builds one once per machine with
//     `go install`. A managed server listens on loopback only, keeps its
//     models under the cache directory, and never outlives the process.
//   - [Client] sends texts to /api/embed in batches bounded by count and
//     characters, a bounded number in flight, through the official
//     github.com/ollama/ollama/api client, retries transient failures with
//     exponential backoff, and checks what comes back: one vector per
//     text, all of one dimension. It never fills in a vector for a text it
//     failed to embed.
//   - [Cache] keeps vectors on disk under model name, model digest and
//     normalized text, so duplicate and replayed texts cost nothing.
//
// The embedding model may be the project's own (registered from a GGUF file
// with [Client.CreateFromGGUF]) or any embedding model pulled into Ollama.
// Either way the server L2-normalises every vector, and a text in which no
// word is known to the model comes back as the zero vector. Texts longer
// than the model's context are split on sentences (see [WithChunker]) and
// their chunks' vectors combined, never truncated.
//
// Ollama loads embedding models with a single runner slot and embeds one
// text per runner request, so throughput is bounded by per-text overhead;
// concurrent callers do not add throughput.
package embed
