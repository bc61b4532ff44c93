import Foundation
import GRDB
import NewsAlertCore

/// An event the newsroom published, with what has happened to it since.
public struct EventLogEntry: Sendable {
    public var event: NewsEvent
    public var kafka: KafkaPosition
    public var receivedAt: Date
    /// Whether a later event killed this one.
    public var killed: Bool
    /// Ids of later events that correct this one, oldest first.
    public var corrections: [String]
    /// The enrichment as JSON, once the enrich stage reported it.
    public var enrichment: Data?
    public var storyID: String?
    /// What deduplication decided, e.g. `update #2 of story-evt_…` or `duplicate (exact) of evt_…`.
    public var dedupOutcome: String?
}

extension AppDatabase {
    /// Records an event the broker acknowledged. Publishing a recorded event again (a retry that took over its
    /// idempotency claim) keeps the first record: it describes the copy the pipeline went on with.
    public func recordPublishedEvent(_ event: NewsEvent, at position: KafkaPosition, receivedAt: Date, principal: APIPrincipal?) async throws {
        let payload = try JSONEncoder.newsAlert.encode(event)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO news_event (id, payload, kind, status, supersedes, topic, partition, "offset", received_at, api_key_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO NOTHING
                    """,
                arguments: [event.id, payload, event.kind.rawValue, event.status.rawValue, event.supersedes,
                            position.topic, position.partition, position.offset, receivedAt, principal?.keyID])
        }
    }

    /// One event with its corrections and kill state; `nil` if unknown.
    public func eventLogEntry(id: String) async throws -> EventLogEntry? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM news_event WHERE id = ?", arguments: [id]).map { try Self.entry(from: $0, db) }
        }
    }

    /// The newest events, newest first.
    public func recentEvents(limit: Int) async throws -> [EventLogEntry] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM news_event ORDER BY received_at DESC, id DESC LIMIT ?", arguments: [limit]).map { try Self.entry(from: $0, db) }
        }
    }

    private static func entry(from row: Row, _ db: Database) throws -> EventLogEntry {
        let event = try JSONDecoder.newsAlert.decode(NewsEvent.self, from: row["payload"] as Data)
        let followers = try Row.fetchAll(db, sql: "SELECT id, status FROM news_event WHERE supersedes = ? ORDER BY received_at, id", arguments: [event.id])
        return EventLogEntry(
            event: event,
            kafka: KafkaPosition(topic: row["topic"], partition: row["partition"], offset: row["offset"]),
            receivedAt: row["received_at"],
            killed: followers.contains { $0["status"] as String == NewsStatus.canceled.rawValue },
            corrections: followers.filter { $0["status"] as String != NewsStatus.canceled.rawValue }.map { $0["id"] },
            enrichment: row["enrichment"],
            storyID: row["story_id"],
            dedupOutcome: row["dedup_outcome"])
    }
}
