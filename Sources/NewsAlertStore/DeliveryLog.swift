import Foundation
import GRDB
import NewsAlertCore

/// Where a delivery stands.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
    /// Waiting for quiet hours to end or for its digest.
    case held
    /// Handed to its channel's topic; the channel's worker has not reported yet.
    case queued
    /// An attempt failed; another is scheduled at `next_attempt_at`.
    case retrying
    /// A worker is attempting it now.
    case sending
    case delivered
    /// Failed for good (permanent error, endpoint gone or disabled).
    case failed
    /// Not sent: the subscriber's budget was used up.
    case dropped
    /// Not sent: the story was killed or corrected before the hold ended.
    case canceled
    /// Every attempt failed; parked on `news.deadletter`, replayable.
    case dead

    /// The states a replay may put back in line for an immediate attempt.
    public static let replayable: Set<DeliveryState> = [.failed, .dead, .delivered, .retrying]

    /// `replayable` as an SQL list: `'dead', 'delivered', …`.
    static var replayableSQL: String { replayable.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ") }
}

/// A delivery a stopping worker hands back to its channel topic, with where its retry schedule stands and every
/// attempt made so far: the next owner of the delivery holds its whole history and reports it as its own, so no
/// node has to wait for (or merge) the stopped worker's reports to show the delivery complete.
public struct HandedBackDelivery: Sendable {
    public var alert: Alert
    /// Attempts made so far.
    public var attempts: Int
    /// When the next attempt is due.
    public var nextAttemptAt: Date
    /// The attempts made so far, oldest first (empty when the sender did not carry them).
    public var history: [DeliveryAttempt]

    public init(alert: Alert, attempts: Int, nextAttemptAt: Date, history: [DeliveryAttempt] = []) {
        self.alert = alert
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.history = history
    }
}

/// One try at delivering an alert.
public struct DeliveryAttempt: Codable, Sendable, Hashable {
    public var attempt: Int
    public var at: Date
    /// `delivered`, `retry`, `failed`, `gone`…
    public var outcome: String
    public var statusCode: Int?
    public var detail: String?
    public var durationMilliseconds: Double?

    public init(attempt: Int, at: Date, outcome: String, statusCode: Int? = nil, detail: String? = nil, durationMilliseconds: Double? = nil) {
        self.attempt = attempt
        self.at = at
        self.outcome = outcome
        self.statusCode = statusCode
        self.detail = detail
        self.durationMilliseconds = durationMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case attempt, at, outcome
        case statusCode = "status_code"
        case detail
        case durationMilliseconds = "duration_ms"
    }
}

/// A row of the delivery log with its attempts.
public struct DeliveryRecord: Codable, Sendable {
    /// Whether a replay may send it again: a webhook or email delivery in a `replayable` state.
    public var isReplayable: Bool { channel != DeliveryChannel.Kind.ticker.rawValue && DeliveryState.replayable.contains(state) }

    /// The number of the latest attempt any node reported (0 before the first).
    public var attemptsMade: Int { attempts.map(\.attempt).max() ?? 0 }

    /// How far along this view of the delivery is. Views come from different nodes' clocks and the fan-out
    /// node may write its `queued` after the worker already finished, so time decides last: first the latest
    /// attempt seen (a replay or a handed-back retry only adds attempts), then the lifecycle stage.
    var progress: (Int, Int, Date) {
        let stage = switch state {
        case .held: 0
        case .queued: 1
        case .retrying, .sending: 2
        case .dead: 3
        case .delivered, .failed, .dropped, .canceled: 4
        }
        return (attemptsMade, stage, updatedAt)
    }

    /// One record per delivery id from several views of it (this node's, other nodes' reports): the furthest
    /// along, with every attempt any of them saw.
    static func merged(_ records: [DeliveryRecord]) -> [DeliveryRecord] {
        var byID: [String: DeliveryRecord] = [:]
        for record in records {
            guard let held = byID[record.id] else { byID[record.id] = record; continue }
            let heldLeads = held.progress >= record.progress
            var newest = heldLeads ? held : record
            let other = heldLeads ? record : held
            let known = Set(newest.attempts.map(\.attempt))
            newest.attempts = (newest.attempts + other.attempts.filter { !known.contains($0.attempt) }).sorted { $0.attempt < $1.attempt }
            byID[record.id] = newest
        }
        return Array(byID.values)
    }

    public var id: String
    public var subscriberID: String
    public var channelID: String
    public var channel: String
    public var target: String?
    public var eventID: String
    public var storyID: String
    public var type: String
    public var state: DeliveryState
    public var reason: String?
    public var deliverAfter: Date?
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var attempts: [DeliveryAttempt]
    /// The alert as it is (or was) sent.
    public var alert: Alert

    enum CodingKeys: String, CodingKey {
        case id
        case subscriberID = "subscriber_id"
        case channelID = "channel_id"
        case channel, target
        case eventID = "event_id"
        case storyID = "story_id"
        case type, state, reason
        case deliverAfter = "deliver_after"
        case nextAttemptAt = "next_attempt_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case attempts, alert
    }
}

extension AppDatabase {
    // MARK: Fan-out side

    /// Records what fan-out decided for one event, after the immediate alerts were acknowledged by Kafka, and
    /// journals the event (`eventID`) as fanned out. Idempotent: a redelivered event leaves existing rows as they are.
    public func recordFanout(_ plan: FanoutPlan, eventID: String? = nil) async throws {
        let now = Date()
        try await writer.write { db in
            if let eventID { try db.execute(sql: "INSERT OR IGNORE INTO fanout_journal (event_id, at) VALUES (?, ?)", arguments: [eventID, now]) }
            for alert in plan.immediate {
                // The ticker has no receiver to acknowledge: an item is delivered once it is on the ticker log.
                try Self.insertDelivery(alert, state: alert.channel == .ticker ? .delivered : .queued, reason: nil, now: now, db)
                try db.execute(sql: """
                    INSERT INTO story_delivery (story_id, channel_id, subscriber_id, channel, last_event_id) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(story_id, channel_id) DO UPDATE SET last_event_id = excluded.last_event_id
                    """, arguments: [alert.story.storyID, alert.channelID, alert.subscriberID, alert.channel.rawValue, alert.event.id])
            }
            if let story = plan.cancelsHeldAlertsOfStory {
                try db.execute(sql: "UPDATE delivery SET state = 'canceled', reason = 'the story was killed or corrected while the alert was held', updated_at = ? WHERE story_id = ? AND state = 'held'",
                               arguments: [now, story])
            }
            for alert in plan.held { try Self.insertDelivery(alert, state: .held, reason: nil, now: now, db) }
            for (alert, reason) in plan.dropped { try Self.insertDelivery(alert, state: .dropped, reason: reason, now: now, db) }
        }
    }

    /// What each channel already got of a story.
    public func storyDeliveries(storyID: String) async throws -> [StoryDelivery] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM story_delivery WHERE story_id = ?", arguments: [storyID]).map {
                StoryDelivery(subscriberID: $0["subscriber_id"], storyID: $0["story_id"], channelID: $0["channel_id"],
                              channel: DeliveryChannel.Kind(rawValue: $0["channel"]) ?? .ticker, lastEventID: $0["last_event_id"])
            }
        }
    }

    /// Alerts counted against a subscriber's budget: distinct events sent in the last hour and day before `now`.
    /// Synchronous, for the pure planner's callback; a short indexed read.
    public func recentDeliveriesNow(subscriberID: String, now: Date) throws -> RecentDeliveries {
        try writer.read { db in
            let counts = try Row.fetchOne(db, sql: """
                SELECT COUNT(DISTINCT CASE WHEN created_at > ? THEN event_id END) AS hour, COUNT(DISTINCT event_id) AS day
                FROM delivery WHERE subscriber_id = ? AND created_at > ? AND channel != 'ticker' AND state IN ('queued', 'retrying', 'delivered', 'failed', 'dead')
                """, arguments: [now.addingTimeInterval(-3_600), subscriberID, now.addingTimeInterval(-86_400)])
            return RecentDeliveries(lastHour: counts?["hour"] ?? 0, lastDay: counts?["day"] ?? 0)
        }
    }

    /// Held alerts whose time has come, oldest first; they are marked queued by `releaseHeld` once sent.
    public func dueHeldAlerts(now: Date, limit: Int) async throws -> [Alert] {
        try await writer.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM delivery WHERE state = 'held' AND deliver_after <= ? ORDER BY deliver_after, id LIMIT ?", arguments: [now, limit])
                .map { try JSONDecoder.newsAlert.decode(Alert.self, from: $0) }
        }
    }

    /// Marks held alerts as handed to their channel and remembers them for later updates of the story.
    public func releaseHeld(_ alerts: [Alert]) async throws {
        try await recordFanout({ var plan = FanoutPlan(); plan.immediate = alerts; return plan }())
        try await writer.write { db in
            for alert in alerts {
                try db.execute(sql: "UPDATE delivery SET state = 'queued', updated_at = ? WHERE id = ? AND state = 'held'", arguments: [Date(), alert.alertID])
            }
        }
    }

    /// Records digests handed to their channel: the digest is a delivery of its own, and each gathered alert
    /// is marked as sent in it (and remembered for later updates of its story).
    public func releaseDigests(_ digests: [Alert]) async throws {
        guard !digests.isEmpty else { return }
        try await recordFanout({ var plan = FanoutPlan(); plan.immediate = digests; return plan }())
        let now = Date()
        try await writer.write { db in
            for digest in digests {
                for item in digest.digestItems ?? [] {
                    let itemID = Alert.id(eventID: item.event.id, channelID: digest.channelID)
                    try db.execute(sql: "UPDATE delivery SET state = 'queued', reason = ?, updated_at = ? WHERE id = ? AND state = 'held'",
                                   arguments: ["sent in digest \(digest.alertID)", now, itemID])
                    try db.execute(sql: """
                        INSERT INTO story_delivery (story_id, channel_id, subscriber_id, channel, last_event_id) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(story_id, channel_id) DO UPDATE SET last_event_id = excluded.last_event_id
                        """, arguments: [item.story.storyID, digest.channelID, digest.subscriberID, digest.channel.rawValue, item.event.id])
                }
            }
        }
    }

    // MARK: Channel side

    /// Puts an alert read from its channel topic in the worker's queue and returns its state: due now, or, for an
    /// alert another worker handed back, due when that worker had scheduled it, its attempts counted on.
    ///
    /// Idempotent: a redelivered record finds the row and leaves delivered or failed alerts alone, unless it is a
    /// `replay` another node forwarded: then a delivered, failed or dead row is put back in line too.
    public func enqueueDelivery(
        _ alert: Alert, target: String?, sourcePartition: Int, sourceOffset: Int64, handedBack: HandedBackDelivery? = nil, replay: Bool = false
    ) async throws -> DeliveryState {
        let now = Date()
        return try await writer.write { db in
            if replay { try Self.putBackInLine(deliveryID: alert.alertID, now: now, db) }
            try Self.insertDelivery(alert, state: .queued, reason: nil, now: now, db)
            for attempt in handedBack?.history ?? [] { try Self.insertAttempt(attempt, deliveryID: alert.alertID, replacing: false, db) }
            try db.execute(sql: """
                UPDATE delivery SET target = ?, source_partition = ?, source_offset = ?,
                  attempts = CASE WHEN state = 'queued' THEN MAX(attempts, ?) ELSE attempts END,
                  state = CASE WHEN state = 'queued' THEN 'retrying' ELSE state END,
                  next_attempt_at = CASE WHEN state = 'queued' THEN ? ELSE next_attempt_at END
                WHERE id = ?
                """, arguments: [target, sourcePartition, sourceOffset, handedBack?.attempts ?? 0, handedBack?.nextAttemptAt ?? now, alert.alertID])
            return DeliveryState(rawValue: try String.fetchOne(db, sql: "SELECT state FROM delivery WHERE id = ?", arguments: [alert.alertID]) ?? "") ?? .queued
        }
    }

    /// Where a delivery's alert was read from (for its dead letter).
    public func deliverySource(id: String) async throws -> (partition: Int, offset: Int64)? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT source_partition, source_offset FROM delivery WHERE id = ? AND source_partition IS NOT NULL", arguments: [id])
                .map { ($0["source_partition"], $0["source_offset"]) }
        }
    }

    /// Records one attempt and the state it leaves the delivery in.
    public func recordAttempt(deliveryID: String, _ attempt: DeliveryAttempt, state: DeliveryState, nextAttemptAt: Date?, reason: String?) async throws {
        try await writer.write { db in
            try Self.insertAttempt(attempt, deliveryID: deliveryID, replacing: true, db)
            try db.execute(sql: "UPDATE delivery SET state = ?, attempts = ?, next_attempt_at = ?, reason = ?, updated_at = ? WHERE id = ?",
                           arguments: [state.rawValue, attempt.attempt, nextAttemptAt, reason, attempt.at, deliveryID])
        }
    }

    /// Claims deliveries of `channel` whose next attempt is due: they move to `sending` in the same transaction,
    /// so no delivery is attempted twice at once. `recordAttempt` moves them on.
    ///
    /// At most `perTarget` deliveries of one channel (one endpoint or address) are in flight at once, so a backlog
    /// for one slow receiver cannot take every worker slot from the others.
    public func claimDue(channel: DeliveryChannel.Kind, now: Date, limit: Int, perTarget: Int = 4) async throws -> [(alert: Alert, attempts: Int)] {
        try await writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, payload, attempts FROM (
                  SELECT id, payload, attempts, next_attempt_at,
                         ROW_NUMBER() OVER (PARTITION BY channel_id ORDER BY next_attempt_at, id) AS rank,
                         (SELECT COUNT(*) FROM delivery busy WHERE busy.channel_id = due.channel_id AND busy.state = 'sending') AS in_flight
                  FROM delivery due WHERE state = 'retrying' AND channel = ? AND next_attempt_at <= ?)
                WHERE rank + in_flight <= ? ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [channel.rawValue, now, perTarget, limit])
            for row in rows {
                try db.execute(sql: "UPDATE delivery SET state = 'sending', updated_at = ? WHERE id = ?", arguments: [now, row["id"] as String])
            }
            return try rows.map { (try JSONDecoder.newsAlert.decode(Alert.self, from: $0["payload"] as Data), $0["attempts"]) }
        }
    }

    /// The deliveries of `channel` this worker still has to attempt (waiting for a retry, or interrupted mid-attempt),
    /// each with the attempts made so far.
    public func pendingDeliveries(channel: DeliveryChannel.Kind) async throws -> [HandedBackDelivery] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, payload, attempts, next_attempt_at FROM delivery WHERE channel = ? AND state IN ('retrying', 'sending') ORDER BY next_attempt_at, id
                """, arguments: [channel.rawValue]).map {
                HandedBackDelivery(alert: try JSONDecoder.newsAlert.decode(Alert.self, from: $0["payload"] as Data), attempts: $0["attempts"],
                                   nextAttemptAt: $0["next_attempt_at"] ?? Date(), history: try Self.attempts(deliveryID: $0["id"], db))
            }
        }
    }

    /// Records that these deliveries went back on their channel topic: `queued` again, for whichever worker reads them.
    public func markHandedBack(_ deliveryIDs: [String]) async throws {
        let now = Date()
        try await writer.write { db in
            for id in deliveryIDs {
                try db.execute(sql: """
                    UPDATE delivery SET state = 'queued', next_attempt_at = NULL, reason = 'handed back to its channel topic at shutdown', updated_at = ?
                    WHERE id = ? AND state IN ('retrying', 'sending')
                    """, arguments: [now, id])
            }
        }
    }

    /// Puts back deliveries a stopped worker was attempting (its process died mid-attempt): they are due again.
    public func releaseInterruptedAttempts(channel: DeliveryChannel.Kind) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE delivery SET state = 'retrying', next_attempt_at = ? WHERE state = 'sending' AND channel = ?", arguments: [Date(), channel.rawValue])
        }
    }

    /// Deliveries to a channel that failed for good since `since` (bounces, for email).
    public func failedDeliveries(channelID: String, since: Date) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery WHERE channel_id = ? AND state = 'failed' AND updated_at >= ?", arguments: [channelID, since]) ?? 0
        }
    }

    /// Since when a channel has been failing without a single success: the creation of its oldest delivery still
    /// being attempted, retrying or dead after its last delivered one; nil when nothing is failing.
    public func failingSince(channelID: String) async throws -> Date? {
        try await writer.read { db in
            try Date.fetchOne(db, sql: """
                SELECT MIN(created_at) FROM delivery WHERE channel_id = ? AND state IN ('retrying', 'sending', 'dead')
                  AND created_at > COALESCE((SELECT MAX(updated_at) FROM delivery WHERE channel_id = ? AND state = 'delivered'), '0000')
                """, arguments: [channelID, channelID])
        }
    }

    /// When the earliest waiting delivery of `channel` falls due; nil when none waits.
    public func nextAttemptDue(channel: DeliveryChannel.Kind) async throws -> Date? {
        try await writer.read { db in
            try Date.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM delivery WHERE state = 'retrying' AND channel = ?", arguments: [channel.rawValue])
        }
    }

    /// How many deliveries of `channel` wait for another attempt.
    public func retryQueueDepth(channel: DeliveryChannel.Kind) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery WHERE state = 'retrying' AND channel = ?", arguments: [channel.rawValue]) ?? 0
        }
    }

    /// Puts a failed, dead or delivered delivery back in line for an immediate attempt; false if this node does not
    /// hold it or it is not `replayable`.
    public func scheduleReplay(deliveryID: String) async throws -> Bool {
        try await writer.write { db in
            try Self.putBackInLine(deliveryID: deliveryID, now: Date(), db)
            return db.changesCount > 0
        }
    }

    private static func putBackInLine(deliveryID: String, now: Date, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE delivery SET state = 'retrying', next_attempt_at = ?, updated_at = ?
            WHERE id = ? AND channel != 'ticker' AND state IN (\(DeliveryState.replayableSQL))
            """, arguments: [now, now, deliveryID])
    }

    /// Puts a subscriber's deliveries since `since` back in line; returns how many.
    public func scheduleReplay(subscriberID: String, since: Date) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: """
                UPDATE delivery SET state = 'retrying', next_attempt_at = ?, updated_at = ?
                WHERE subscriber_id = ? AND created_at >= ? AND channel != 'ticker' AND state IN (\(DeliveryState.replayableSQL))
                """, arguments: [Date(), Date(), subscriberID, since])
            return db.changesCount
        }
    }

    // MARK: Reading

    /// Deliveries, newest first: this node's own and those other nodes reported on `deliveries.log`.
    public func deliveries(subscriberID: String? = nil, eventID: String? = nil, limit: Int) async throws -> [DeliveryRecord] {
        try await writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let subscriberID { conditions.append("subscriber_id = ?"); _ = arguments.append(contentsOf: [subscriberID]) }
            if let eventID { conditions.append("event_id = ?"); _ = arguments.append(contentsOf: [eventID]) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [limit])
            let own = try Row.fetchAll(db, sql: "SELECT * FROM delivery \(filter) ORDER BY created_at DESC, id LIMIT ?", arguments: arguments)
                .map { try Self.record(from: $0, db) }
            let reported = try Row.fetchAll(db, sql: "SELECT record FROM delivery_report \(filter) ORDER BY created_at DESC, id LIMIT ?", arguments: arguments)
                .map { try JSONDecoder.newsAlert.decode(DeliveryRecord.self, from: $0["record"] as Data) }
            return Array(DeliveryRecord.merged(own + reported).sorted { ($0.createdAt, $1.id) > ($1.createdAt, $0.id) }.prefix(limit))
        }
    }

    /// One delivery, as this node made it or as another node reported it (the newer state, every attempt known).
    public func delivery(id: String) async throws -> DeliveryRecord? {
        try await writer.read { db in
            let own = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [id]).map { try Self.record(from: $0, db) }
            let reported = try Row.fetchOne(db, sql: "SELECT record FROM delivery_report WHERE id = ?", arguments: [id])
                .map { try JSONDecoder.newsAlert.decode(DeliveryRecord.self, from: $0["record"] as Data) }
            return DeliveryRecord.merged([own, reported].compactMap { $0 }).first
        }
    }

    /// Alerts delivered per event and channel, counted over every delivery this node knows (its own and those
    /// other nodes reported): a delivery counts once, whichever nodes know it.
    public func deliveredAlertCounts(eventIDs: [String]) async throws -> [String: [String: Int]] {
        guard !eventIDs.isEmpty else { return [:] }
        return try await writer.read { db in
            let placeholders = Array(repeating: "?", count: eventIDs.count).joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: """
                SELECT event_id, channel, COUNT(*) AS alerts FROM (
                  SELECT id, event_id, channel FROM delivery WHERE event_id IN (\(placeholders)) AND state = 'delivered'
                  UNION
                  SELECT id, event_id, channel FROM delivery_report WHERE event_id IN (\(placeholders)) AND state = 'delivered'
                ) GROUP BY event_id, channel
                """, arguments: StatementArguments(eventIDs + eventIDs))
            var counts: [String: [String: Int]] = [:]
            for row in rows { counts[row["event_id"], default: [:]][row["channel"]] = row["alerts"] }
            return counts
        }
    }

    // MARK: Reports to and from other nodes

    /// Deliveries changed since they were last reported, each as it is now, and the outbox sequence they cover.
    public func pendingDeliveryReports(limit: Int) async throws -> (through: Int64, records: [DeliveryRecord])? {
        try await writer.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, delivery_id FROM delivery_report_outbox ORDER BY seq LIMIT ?", arguments: [limit])
            guard let last = rows.last else { return nil }
            var seen = Set<String>()
            var records: [DeliveryRecord] = []
            for row in rows {
                let id: String = row["delivery_id"]
                guard seen.insert(id).inserted, let delivery = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [id]) else { continue }
                records.append(try Self.record(from: delivery, db))
            }
            return (last["seq"], records)
        }
    }

    /// Forgets reported changes up to and including `sequence`.
    public func removeReportedDeliveries(through sequence: Int64) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM delivery_report_outbox WHERE seq <= ?", arguments: [sequence]) }
    }

    /// Keeps a delivery as another node reported it, merged with earlier reports of it (the newest state, every
    /// attempt), unless this node's own row already knows all of it; true if kept.
    @discardableResult
    public func applyDeliveryReport(_ record: DeliveryRecord) async throws -> Bool {
        try await writer.write { db in
            if let own = try Date.fetchOne(db, sql: "SELECT updated_at FROM delivery WHERE id = ?", arguments: [record.id]), own >= record.updatedAt {
                let ownAttempts = Set(try Int.fetchAll(db, sql: "SELECT attempt FROM delivery_attempt WHERE delivery_id = ?", arguments: [record.id]))
                if ownAttempts.isSuperset(of: record.attempts.map(\.attempt)) { return false }
            }
            let held = try Data.fetchOne(db, sql: "SELECT record FROM delivery_report WHERE id = ?", arguments: [record.id])
                .map { try JSONDecoder.newsAlert.decode(DeliveryRecord.self, from: $0) }
            guard let merged = DeliveryRecord.merged([held, record].compactMap { $0 }).first else { return false }
            try db.execute(sql: """
                INSERT OR REPLACE INTO delivery_report (id, subscriber_id, event_id, channel, state, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [merged.id, merged.subscriberID, merged.eventID, merged.channel, merged.state.rawValue, merged.createdAt, merged.updatedAt,
                                 try JSONEncoder.newsAlert.encode(merged)])
            return true
        }
    }

    private static func attempts(deliveryID: String, _ db: Database) throws -> [DeliveryAttempt] {
        try Row.fetchAll(db, sql: "SELECT * FROM delivery_attempt WHERE delivery_id = ? ORDER BY attempt", arguments: [deliveryID]).map {
            DeliveryAttempt(attempt: $0["attempt"], at: $0["at"], outcome: $0["outcome"], statusCode: $0["status_code"], detail: $0["detail"], durationMilliseconds: $0["duration_ms"])
        }
    }

    /// Writes one attempt; `replacing: false` keeps an attempt this node already recorded under the same number.
    private static func insertAttempt(_ attempt: DeliveryAttempt, deliveryID: String, replacing: Bool, _ db: Database) throws {
        try db.execute(sql: """
            INSERT OR \(replacing ? "REPLACE" : "IGNORE") INTO delivery_attempt (delivery_id, attempt, at, outcome, status_code, detail, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [deliveryID, attempt.attempt, attempt.at, attempt.outcome, attempt.statusCode, attempt.detail, attempt.durationMilliseconds])
    }

    private static func record(from row: Row, _ db: Database) throws -> DeliveryRecord {
        let attempts = try attempts(deliveryID: row["id"], db)
        return DeliveryRecord(
            id: row["id"], subscriberID: row["subscriber_id"], channelID: row["channel_id"], channel: row["channel"], target: row["target"],
            eventID: row["event_id"], storyID: row["story_id"], type: row["type"], state: DeliveryState(rawValue: row["state"]) ?? .queued,
            reason: row["reason"], deliverAfter: row["deliver_after"], nextAttemptAt: row["next_attempt_at"], createdAt: row["created_at"],
            updatedAt: row["updated_at"], attempts: attempts, alert: try JSONDecoder.newsAlert.decode(Alert.self, from: row["payload"] as Data))
    }

    private static func insertDelivery(_ alert: Alert, state: DeliveryState, reason: String?, now: Date, _ db: Database) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO delivery (id, subscriber_id, channel_id, channel, event_id, story_id, type, state, reason, payload, deliver_after, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [alert.alertID, alert.subscriberID, alert.channelID, alert.channel.rawValue, alert.event.id, alert.story.storyID,
                             alert.type.rawValue, state.rawValue, reason, try JSONEncoder.newsAlert.encode(alert), alert.deliverAfter, now, now])
    }
}
