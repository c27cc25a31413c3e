// Package cluster is Attune's segment stage: it fuses each analysed event's
// embedding, sentiment and its customer's behavioral features into one vector,
// clusters those vectors with k-means++, names the clusters from their words,
// and keeps everything it needs to do that again in a bbolt [Store].
//
// # Feature vector
//
// The clustering unit is one event. Its fused vector is
//
//	[ w_e·embedding  |  w_s·z(sentiment)  |  w_b·z(behavior)/√m ]
//
// where the embedding is the model's L2-normalised vector (dimension D), z(·)
// standardises a value with the mean and standard deviation measured over the
// fitted events, and the m behavioral features are, when the data holds them:
//
//   - recency_days: days between the customer's last event and AsOf, the
//     latest event time in the fitted data (never the wall clock, so that
//     replaying old data gives the same answer);
//   - log_frequency: log1p of the customer's event count;
//   - mean_rating: the customer's mean rating;
//   - log_monetary: log1p of the customer's monetary sum;
//   - log_engagement: log1p of the customer's engagement sum.
//
// A feature that no fitted customer has is dropped. A customer that lacks a
// feature the population has (no rating, no timestamp…) gets the population
// mean, which standardises to 0: it neither pulls toward nor away from any
// segment on that axis. Dividing the behavioral block by √m keeps its total
// weight w_b however many features the data happens to carry. The
// standardisation parameters are part of the [Model], so events assigned later
// are scaled exactly as the fitted ones were.
//
// # Segments
//
// [Fit] picks k by mean silhouette over a seeded sample among the k that leave
// no catch-all segment above Config.MaxShare (unless Config.K fixes it), runs
// k-means++ on all points (and a larger k if that fit grew a catch-all), and describes each cluster: size,
// customers, mean sentiment, top terms by class-based TF-IDF, exemplars and a
// name such as "delay-frustrated" built by [Describe]. Config.Algorithm
// picks exact k-means (Hamerly-accelerated Lloyd) or mini-batch k-means for
// very large n; both are deterministic under Config.Seed. Numeric event
// attributes named in Config.Attributes (a delivery delay, an order value)
// join the behavioral block as features of their own.
//
// # Stable ids, lineage and names
//
// Given the previous model, new clusters are matched one-to-one to previous
// segments by the Hungarian algorithm on centroid distance, among pairs that
// clearly match; a match keeps the id and the name, so ids survive
// re-clustering and a name a user gave with [Model.Rename] or
// [Store.RenameSegment] stays. Model.Lineage records for every segment
// whether it was kept, split off, merged or new, and from which previous
// segments its members came.
//
// # Explanations, drift, memberships
//
// [Model.Profiles] describes each segment (size, sentiment, top terms,
// exemplars, aspect profile, behavioral profile against the population) and
// [Model.Explain] says why one event is where it is; both are JSON-ready.
// [Drift] windows each segment's volume and mean sentiment over time and
// flags spikes beyond Sigma trailing standard deviations; [DriftTracker]
// does the same online, one event at a time, and [AlertsOf] turns a spiking
// window into [Alert]s. [MembershipOf], [Store.Diff] and [Store.Move] keep
// each customer's current segment (that of its latest event) and yield the
// transitions that [MembershipEvents] turns into the enter/exit messages of
// the campaign feed; publish between Diff and Move for at-least-once.
//
// # Attitude words
//
// A segment's name ends in the attitude its mean sentiment reads as under
// Config.Bands: [ModelBands] for the learned sentiment model (defined by the
// share of negative or positive texts, measured on the airline training
// split), [LexiconBands] for VADER scores. [NMI], [ARI] and [MatchedAccuracy]
// score segments against labels (`attune bench cluster`).
package cluster
