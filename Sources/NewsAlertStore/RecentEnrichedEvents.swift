import Foundation
import GRDB
import NewsAlertCore

extension AppDatabase {
    /// How many enriched events are kept for previews.
    public static let recentEnrichedCapacity = 5_000

    /// Keeps an enriched event for rule previews, forgetting the oldest beyond `recentEnrichedCapacity`.
    public func recordRecentEnriched(_ enriched: EnrichedEvent) async throws {
        let payload = try JSONEncoder.newsAlert.encode(enriched)
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO recent_enriched (event_id, payload, enriched_at) VALUES (?, ?, ?)",
                arguments: [enriched.event.id, payload, enriched.enrichedAt])
            try db.execute(
                sql: "DELETE FROM recent_enriched WHERE event_id IN (SELECT event_id FROM recent_enriched ORDER BY enriched_at DESC LIMIT -1 OFFSET ?)",
                arguments: [Self.recentEnrichedCapacity])
        }
    }

    /// The newest enriched events, newest first.
    public func recentEnriched(limit: Int) async throws -> [EnrichedEvent] {
        try await writer.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM recent_enriched ORDER BY enriched_at DESC, event_id DESC LIMIT ?", arguments: [limit])
                .map { try JSONDecoder.newsAlert.decode(EnrichedEvent.self, from: $0) }
        }
    }
}
