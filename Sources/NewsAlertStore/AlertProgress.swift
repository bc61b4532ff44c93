import Foundation
import GRDB
import NewsAlertCore

/// How the alerts of one event are going out, from the delivery log read model (this node's own deliveries and
/// those other nodes reported): planned by fan-out, handed to the channel topics, delivered, failed.
public struct AlertProgress: Codable, Sendable, Hashable {
    /// Whether fan-out has planned the event yet.
    public var fannedOut: Bool
    /// Alerts fan-out planned to send now or later (held ones included, budget drops not).
    public var planned: Int
    /// Alerts waiting for quiet hours or a digest.
    public var held: Int
    /// Alerts the subscribers' budgets stopped.
    public var dropped: Int
    /// Alerts handed to their channel's topic (sent now or released from a hold).
    public var onTopics: Int
    public var delivered: Int
    /// Alerts that failed for good (after their retries, or at once for a permanent error).
    public var failed: Int
    /// Alerts being retried.
    public var retrying: Int
    /// Alert counts by channel kind and delivery state.
    public var byChannel: [String: [String: Int]]

    public init(fannedOut: Bool = false, byChannel: [String: [String: Int]] = [:]) {
        self.fannedOut = fannedOut
        self.byChannel = byChannel
        func count(_ states: Set<String>) -> Int { byChannel.values.reduce(0) { $0 + $1.filter { states.contains($0.key) }.values.reduce(0, +) } }
        held = count(["held"])
        dropped = count(["dropped"])
        onTopics = count(["queued", "sending", "retrying", "delivered", "failed", "dead"])
        delivered = count(["delivered"])
        failed = count(["failed", "dead"])
        retrying = count(["retrying"])
        planned = held + onTopics + count(["canceled"])
    }

    enum CodingKeys: String, CodingKey {
        case fannedOut = "fanned_out"
        case planned, held, dropped
        case onTopics = "on_topics"
        case delivered, failed, retrying
        case byChannel = "by_channel"
    }
}

extension AppDatabase {
    /// The progress of each event's alerts; a delivery this node and a report both know counts once, in its
    /// furthest state.
    public func alertProgress(eventIDs: [String]) async throws -> [String: AlertProgress] {
        guard !eventIDs.isEmpty else { return [:] }
        return try await writer.read { db in
            let placeholders = Array(repeating: "?", count: eventIDs.count).joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: """
                WITH known AS (
                  SELECT id, event_id, channel, state FROM delivery WHERE event_id IN (\(placeholders))
                  UNION ALL
                  SELECT id, event_id, channel, state FROM delivery_report WHERE event_id IN (\(placeholders))
                ), ranked AS (
                  SELECT event_id, channel, state, ROW_NUMBER() OVER (
                    PARTITION BY id ORDER BY CASE state WHEN 'held' THEN 0 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2
                      WHEN 'retrying' THEN 2 WHEN 'failed' THEN 3 ELSE 4 END DESC) AS position
                  FROM known
                )
                SELECT event_id, channel, state, COUNT(*) AS alerts FROM ranked WHERE position = 1 GROUP BY event_id, channel, state
                """, arguments: StatementArguments(eventIDs + eventIDs))
            var counts: [String: [String: [String: Int]]] = [:]
            for row in rows { counts[row["event_id"], default: [:]][row["channel"], default: [:]][row["state"]] = row["alerts"] }
            let fannedOut = Set(try String.fetchAll(db, sql: "SELECT event_id FROM fanout_journal WHERE event_id IN (\(placeholders))", arguments: StatementArguments(eventIDs)))
            var progress: [String: AlertProgress] = [:]
            for id in eventIDs {
                progress[id] = AlertProgress(fannedOut: fannedOut.contains(id) || counts[id] != nil, byChannel: counts[id] ?? [:])
            }
            return progress
        }
    }

    /// The events of a story, oldest first, as the event log has them.
    public func storyEvents(storyID: String, limit: Int) async throws -> [EventLogEntry] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM news_event WHERE story_id = ? ORDER BY received_at, id LIMIT ?", arguments: [storyID, limit])
        }.asyncCompactMap { try await self.eventLogEntry(id: $0) }
    }
}

fileprivate extension Array {
    func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var result: [T] = []
        for element in self { if let value = try await transform(element) { result.append(value) } }
        return result
    }
}
