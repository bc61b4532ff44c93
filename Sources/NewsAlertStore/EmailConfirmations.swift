import Foundation
import GRDB
import NewsAlertCore

/// How double opt-in paces itself: one confirmation mail per address an hour, a day to use the link.
public enum EmailConfirmationPolicy {
    /// At most one confirmation mail to an address within this many seconds.
    public static let defaultInterval: TimeInterval = 3600
    /// How long a confirmation link works; an email channel unconfirmed for longer is deleted.
    public static let defaultWindow: TimeInterval = 86_400
    /// Attempts to send one confirmation mail before giving up (the address can ask again after the interval).
    public static let maximumAttempts = 5
}

/// Whether asking for a confirmation mail queued one.
public enum ConfirmationRequest: Sendable, Equatable {
    case queued
    /// A mail went to the address within the interval; nothing was queued.
    case rateLimited
}

/// A confirmation mail this node owes.
public struct DueConfirmation: Sendable, Equatable {
    public var channelID: String
    public var address: String
    /// When the channel asked first: the link expires a window after it.
    public var createdAt: Date
    public var attempts: Int
}

extension AppDatabase {
    /// Queues a new confirmation mail for an email channel still waiting for its owner (for example a reader who
    /// signs up again), unless one went to the address within `interval`.
    public func requestConfirmation(channelID: String, interval: TimeInterval = EmailConfirmationPolicy.defaultInterval) async throws -> ConfirmationRequest {
        try await writer.write { db in
            guard let channel = try Self.fetchChannel(id: channelID, db), channel.awaitsConfirmation else { return .rateLimited }
            return try Self.queueConfirmation(channelID: channel.id, address: channel.target, now: Date.storeNow, interval: interval, db)
        }
    }

    static func queueConfirmation(channelID: String, address: String, now: Date, interval: TimeInterval, _ db: Database) throws -> ConfirmationRequest {
        let key = address.lowercased()
        if let last = try Date.fetchOne(db, sql: "SELECT last_queued_at FROM confirmation_rate WHERE address = ?", arguments: [key]),
           now.timeIntervalSince(last) < interval {
            // The channel still waits (and expires) like any other; its owner may ask again after the interval.
            try db.execute(sql: """
                INSERT OR IGNORE INTO email_confirmation (channel_id, address, created_at, state, due_at, attempts) VALUES (?, ?, ?, 'suppressed', ?, 0)
                """, arguments: [channelID, address, now, now])
            return .rateLimited
        }
        try db.execute(sql: """
            INSERT INTO confirmation_rate (address, last_queued_at) VALUES (?, ?)
            ON CONFLICT(address) DO UPDATE SET last_queued_at = excluded.last_queued_at
            """, arguments: [key, now])
        // A repeated request keeps the first request's time, so the link's life is not extended by asking again.
        try db.execute(sql: """
            INSERT INTO email_confirmation (channel_id, address, created_at, state, due_at, attempts) VALUES (?, ?, ?, 'queued', ?, 0)
            ON CONFLICT(channel_id) DO UPDATE SET state = 'queued', due_at = excluded.due_at, attempts = 0, last_error = NULL
            """, arguments: [channelID, address, now, now])
        return .queued
    }

    /// Confirmation mails due now, oldest first.
    public func dueConfirmations(now: Date, limit: Int = 50) async throws -> [DueConfirmation] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT channel_id, address, created_at, attempts FROM email_confirmation WHERE state = 'queued' AND due_at <= ?
                ORDER BY due_at LIMIT ?
                """, arguments: [now, limit]).map {
                DueConfirmation(channelID: $0["channel_id"], address: $0["address"], createdAt: $0["created_at"], attempts: $0["attempts"])
            }
        }
    }

    /// When the next queued confirmation mail is due, if any.
    public func nextConfirmationDue() async throws -> Date? {
        try await writer.read { db in try Date.fetchOne(db, sql: "SELECT MIN(due_at) FROM email_confirmation WHERE state = 'queued'") }
    }

    /// Records the outcome of sending a confirmation mail: sent, retried at `retryAt`, or given up (`retryAt` nil).
    public func recordConfirmationAttempt(channelID: String, sent: Bool, retryAt: Date?, error: String?) async throws {
        try await writer.write { db in
            let state = sent ? "sent" : retryAt == nil ? "failed" : "queued"
            try db.execute(sql: """
                UPDATE email_confirmation SET state = ?, attempts = attempts + 1, due_at = COALESCE(?, due_at), last_error = ? WHERE channel_id = ?
                """, arguments: [state, retryAt, error, channelID])
        }
    }

    /// When the channel's owner first asked for confirmation (the start of its link's life), if it still waits.
    public func confirmationRequestedAt(channelID: String) async throws -> Date? {
        try await writer.read { db in
            try Date.fetchOne(db, sql: "SELECT created_at FROM email_confirmation WHERE channel_id = ?", arguments: [channelID])
        }
    }

    /// Records the owner's consent to alerts at `address` on channel `id`: from then on alerts go there.
    /// Nil if the channel is gone or its address is not `address` any more; an already confirmed channel is returned as is.
    public func confirmChannel(id: String, address: String, source: String = "confirmation link") async throws -> DeliveryChannel? {
        try await writer.write { db in
            guard var channel = try Self.fetchChannel(id: id, db), channel.kind == .email, channel.target == address else { return nil }
            guard channel.consent == nil else { return channel }
            let now = Date.storeNow
            channel.consent = .init(confirmedAt: now, source: source)
            channel.version += 1
            channel.changedAt = now
            try Self.save(channel, db)
            try Self.enqueue(.channel(channel), db)
            try db.execute(sql: "DELETE FROM email_confirmation WHERE channel_id = ?", arguments: [id])
            return channel
        }
    }

    /// Deletes email channels whose owner did not confirm them within `window` of the first request; returns their ids.
    @discardableResult
    public func expireUnconfirmedChannels(now: Date, window: TimeInterval = EmailConfirmationPolicy.defaultWindow) async throws -> [String] {
        try await writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.id, c.subscriber_id FROM email_confirmation e JOIN channel c ON c.id = e.channel_id
                WHERE c.confirmed_at IS NULL AND e.created_at < ?
                """, arguments: [now.addingTimeInterval(-window)])
            var expired: [String] = []
            for row in rows {
                guard try Self.deleteChannel(id: row["id"], subscriberID: row["subscriber_id"], db) else { continue }
                expired.append(row["id"])
                // A reader who signed up and never confirmed leaves nothing behind.
                let subscriberID: String = row["subscriber_id"]
                if try Self.isReaderWithoutChannels(subscriberID, db) { try Self.deleteSubscriberEntirely(subscriberID, db) }
            }
            return expired
        }
    }

    /// Puts every email channel on the changelog again (after a migration changed them all).
    static func requeueEmailChannels(_ db: Database) throws {
        for channel in try Row.fetchAll(db, sql: "SELECT * FROM channel WHERE kind = 'email' ORDER BY id").map(Self.channel(from:)) {
            try Self.enqueue(.channel(channel), db)
        }
    }
}
