// Package kafka feeds writable tables from Kafka topics, exactly once.
//
// A Source reads every partition of one topic directly (no consumer
// group): the offsets it has read are written to the table's write-ahead
// log in the same record as the rows (live.Tier.AppendAt), so they are
// durable together, and a restart resumes from the log, never from a
// group's commit. Ticks carry the positions into the tick journal when
// the log segments that held them go.
//
// Each poll's messages are decoded into one Arrow batch of the table's
// declared columns (json: one object per message; csv: lines of the
// declared columns in order; arrow: an IPC stream, columns matched by
// name and cast). A message that does not parse, leaves a NOT NULL column
// empty, or holds a value the table refuses goes to the table
// <name>_rejected (topic, partition, offset, timestamp, key, value,
// error), which keeps its own positions: after a crash between the two
// writes, nothing is rejected twice.
//
// Partitions added to the topic are found at each check, a broker that is
// down is waited for (franz-go reconnects), and a write the disk refuses
// is retried without reading further.
package kafka
