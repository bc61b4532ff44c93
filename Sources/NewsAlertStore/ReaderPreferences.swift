import Foundation
import GRDB
import NewsAlertCore

/// What the preference centre shows and exports about one subscriber.
public struct SubscriberProfile: Sendable {
    public var subscriber: Subscriber
    public var channels: [DeliveryChannel]
    public var subscriptions: [Subscription]
    /// Until when alerts are paused, if they are.
    public var pausedUntil: Date?
}

extension AppDatabase {
    /// The placeholder ids an erased subscriber's deliveries keep in the delivery log.
    public static let erasedSubscriberID = "sbr_erased"
    public static let erasedChannelID = "chn_erased"

    public func profile(subscriberID: String) async throws -> SubscriberProfile? {
        try await writer.read { db in
            guard let subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { return nil }
            let channels = try Row.fetchAll(db, sql: "SELECT * FROM channel WHERE subscriber_id = ? ORDER BY changed_at, id", arguments: [subscriberID])
                .map(Self.channel(from:))
            let subscriptions = try Row.fetchAll(db, sql: "SELECT * FROM subscription WHERE subscriber_id = ? ORDER BY changed_at, id", arguments: [subscriberID])
                .map(Self.subscription(from:))
            let paused = try Date.fetchOne(db, sql: "SELECT until FROM subscriber_pause WHERE subscriber_id = ?", arguments: [subscriberID])
            return SubscriberProfile(subscriber: subscriber, channels: channels, subscriptions: subscriptions, pausedUntil: paused)
        }
    }

    /// Replaces the subscriber's rules (one per kind of topic) and its time zone, as the preference centre saves them.
    public func updatePreferences(subscriberID: String, timeZone: String, rules: [SubscriptionRule]) async throws {
        try await writer.write { db in
            guard var subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { throw SubscriptionStoreError.notFound }
            let now = Date.storeNow
            if subscriber.timeZone != timeZone {
                subscriber.timeZone = timeZone
                subscriber.version += 1
                subscriber.changedAt = now
                try Self.save(subscriber, db)
                try Self.enqueue(.subscriber(subscriber), db)
            }
            try Self.replaceSubscriptions(of: subscriber, with: rules, now: now, db)
        }
    }

    /// Pauses every alert to the subscriber until `until` (nil resumes now): the subscriber is disabled meanwhile.
    public func pause(subscriberID: String, until: Date?) async throws {
        try await writer.write { db in
            guard var subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { throw SubscriptionStoreError.notFound }
            if let until {
                try db.execute(sql: "INSERT OR REPLACE INTO subscriber_pause (subscriber_id, until) VALUES (?, ?)", arguments: [subscriberID, until])
            } else {
                try db.execute(sql: "DELETE FROM subscriber_pause WHERE subscriber_id = ?", arguments: [subscriberID])
            }
            let status: Subscriber.Status = until == nil ? .active : .disabled
            guard subscriber.status != status else { return }
            subscriber.status = status
            subscriber.version += 1
            subscriber.changedAt = Date.storeNow
            try Self.save(subscriber, db)
            try Self.enqueue(.subscriber(subscriber), db)
        }
    }

    /// Ends the pauses that are over at `now`; returns the subscribers resumed.
    @discardableResult
    public func resumePausedSubscribers(now: Date) async throws -> [String] {
        let due = try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT subscriber_id FROM subscriber_pause WHERE until <= ?", arguments: [now])
        }
        for id in due { try await pause(subscriberID: id, until: nil) }
        return due
    }

    /// When the next pause ends, if any.
    public func nextPauseEnd() async throws -> Date? {
        try await writer.read { db in try Date.fetchOne(db, sql: "SELECT MIN(until) FROM subscriber_pause") }
    }

    /// Erases a subscriber: its subscriber, channels, subscriptions and tokens are deleted (a tombstone each on the
    /// changelog), and its deliveries stay in the log only anonymised (no subscriber, channel, address or reply text).
    public func erase(subscriberID: String) async throws {
        try await writer.write { db in
            guard try Self.fetchSubscriber(id: subscriberID, db) != nil else { throw SubscriptionStoreError.notFound }
            try Self.deleteSubscriberEntirely(subscriberID, db)
            try db.execute(sql: "DELETE FROM story_delivery WHERE subscriber_id = ?", arguments: [subscriberID])
            try db.execute(sql: """
                UPDATE delivery_attempt SET detail = NULL WHERE delivery_id IN (SELECT id FROM delivery WHERE subscriber_id = ?)
                """, arguments: [subscriberID])
            try db.execute(sql: """
                UPDATE delivery SET subscriber_id = ?, channel_id = ?, target = NULL, reason = NULL,
                  payload = CAST(json_set(CAST(payload AS TEXT), '$.subscriber_id', ?, '$.channel_id', ?) AS BLOB)
                WHERE subscriber_id = ?
                """, arguments: [Self.erasedSubscriberID, Self.erasedChannelID, Self.erasedSubscriberID, Self.erasedChannelID, subscriberID])
            try db.execute(sql: "DELETE FROM delivery_report WHERE subscriber_id = ?", arguments: [subscriberID])
        }
    }
}
