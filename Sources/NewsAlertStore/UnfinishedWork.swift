import Foundation
import GRDB
import NewsAlertCore

/// What this database shows as accepted but not finished downstream: the work a restart on an empty embedded
/// log puts back on the topics. Every stage drops a copy of what it had already finished (event id, alert id).
public struct UnfinishedWork: Sendable {
    /// An event the API accepted that enrich has not journaled.
    public struct Event: Sendable {
        public var id: String
        public var payload: Data
        public var receivedAt: Date
        public var idempotencyKey: String?
    }

    /// An event enrich published that fan-out has not journaled, as enrich published it.
    public struct Enriched: Sendable {
        public var eventID: String
        public var storyID: String
        public var record: Data
    }

    /// An alert fan-out handed to a channel topic that no delivery worker has taken into its queue.
    public struct QueuedAlert: Sendable {
        public var alertID: String
        public var channel: DeliveryChannel.Kind
        public var subscriberID: String
        public var payload: Data
    }

    public var events: [Event] = []
    public var enriched: [Enriched] = []
    public var alerts: [QueuedAlert] = []

    public var isEmpty: Bool { events.isEmpty && enriched.isEmpty && alerts.isEmpty }
}

extension AppDatabase {
    /// How far back a restart looks for unfinished work; journals older than this are forgotten.
    public static let recoveryHorizon: TimeInterval = 7 * 86_400

    /// Everything accepted since `since` and not finished downstream, oldest first; forgets journal entries older
    /// than `since`.
    public func unfinishedWork(since: Date) async throws -> UnfinishedWork {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM enrich_journal WHERE at < ?", arguments: [since])
            try db.execute(sql: "DELETE FROM fanout_journal WHERE at < ?", arguments: [since])
            var work = UnfinishedWork()
            work.events = try Row.fetchAll(db, sql: """
                SELECT e.id, e.payload, e.received_at,
                       (SELECT i.key FROM idempotency_record i WHERE i.event_id = e.id LIMIT 1) AS idempotency_key
                FROM news_event e
                WHERE e.received_at >= ? AND NOT EXISTS (SELECT 1 FROM enrich_journal j WHERE j.event_id = e.id)
                ORDER BY e.received_at, e.id
                """, arguments: [since]).map {
                UnfinishedWork.Event(id: $0["id"], payload: $0["payload"], receivedAt: $0["received_at"], idempotencyKey: $0["idempotency_key"])
            }
            work.enriched = try Row.fetchAll(db, sql: """
                SELECT j.event_id, j.story_id, j.record FROM enrich_journal j
                WHERE j.record IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fanout_journal f WHERE f.event_id = j.event_id)
                ORDER BY j.at, j.event_id
                """).map { UnfinishedWork.Enriched(eventID: $0["event_id"], storyID: $0["story_id"], record: $0["record"]) }
            work.alerts = try Row.fetchAll(db, sql: """
                SELECT id, channel, subscriber_id, payload FROM delivery WHERE state = 'queued' AND channel IN ('webhook', 'email') ORDER BY created_at, id
                """).compactMap { row in
                DeliveryChannel.Kind(rawValue: row["channel"]).map {
                    UnfinishedWork.QueuedAlert(alertID: row["id"], channel: $0, subscriberID: row["subscriber_id"], payload: row["payload"])
                }
            }
            return work
        }
    }
}
