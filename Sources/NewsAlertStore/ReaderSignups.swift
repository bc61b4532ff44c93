import Foundation
import GRDB
import NewsAlertCore

/// What a public signup did. The HTTP answer is the same for every case, so nobody learns whether an address is known.
public enum ReaderSignupOutcome: Sendable, Equatable {
    /// A new reader: subscriber, unconfirmed email channel and subscriptions, with a confirmation mail queued (or not).
    case created(subscriberID: String, channelID: String, confirmation: ConfirmationRequest)
    /// The address signed up before and has not confirmed yet: its choices are replaced and the mail asked for again.
    case updatedPending(subscriberID: String, confirmation: ConfirmationRequest)
    /// The address is a confirmed reader: nothing changes (changes go through the reader's preference link).
    case alreadyConfirmed(subscriberID: String)
}

extension AppDatabase {
    /// Signs a reader up from the public page, all in one transaction: a subscriber in `timeZone`, its email channel
    /// waiting for confirmation, one subscription per rule (a reader's topics are alternatives, so each clause is a
    /// rule of its own), and the confirmation mail (at most one per address per `confirmationInterval`).
    public func signUpReader(
        email: String, timeZone: String, rules: [SubscriptionRule], confirmationInterval: TimeInterval = EmailConfirmationPolicy.defaultInterval
    ) async throws -> ReaderSignupOutcome {
        try await writer.write { db in
            let now = Date.storeNow
            let key = email.lowercased()
            if let subscriberID = try String.fetchOne(db, sql: "SELECT subscriber_id FROM reader_signup WHERE email = ?", arguments: [key]),
               var subscriber = try Self.fetchSubscriber(id: subscriberID, db) {
                let channels = try Row.fetchAll(db, sql: "SELECT * FROM channel WHERE subscriber_id = ? AND kind = 'email'", arguments: [subscriberID])
                    .map(Self.channel(from:))
                if channels.contains(where: { $0.consent != nil }) { return .alreadyConfirmed(subscriberID: subscriberID) }
                if subscriber.timeZone != timeZone {
                    subscriber.timeZone = timeZone
                    subscriber.version += 1
                    subscriber.changedAt = now
                    try Self.save(subscriber, db)
                    try Self.enqueue(.subscriber(subscriber), db)
                }
                try Self.replaceSubscriptions(of: subscriber, with: rules, now: now, db)
                let channel: DeliveryChannel
                if let existing = channels.first {
                    channel = existing
                } else {
                    channel = DeliveryChannel(id: EntityID.make(EntityID.channelPrefix), subscriberID: subscriberID, kind: .email, target: email, changedAt: now)
                    try Self.save(channel, db)
                    try Self.enqueue(.channel(channel), db)
                }
                let confirmation = try Self.queueConfirmation(channelID: channel.id, address: channel.target, now: now, interval: confirmationInterval, db)
                return .updatedPending(subscriberID: subscriberID, confirmation: confirmation)
            }
            let subscriber = Subscriber(id: EntityID.make(EntityID.subscriberPrefix), name: "reader", timeZone: timeZone, changedAt: now)
            try Self.save(subscriber, db)
            try Self.enqueue(.subscriber(subscriber), db)
            try db.execute(sql: "INSERT INTO reader_signup (subscriber_id, email, created_at) VALUES (?, ?, ?)", arguments: [subscriber.id, key, now])
            let channel = DeliveryChannel(id: EntityID.make(EntityID.channelPrefix), subscriberID: subscriber.id, kind: .email, target: email, changedAt: now)
            try Self.save(channel, db)
            try Self.enqueue(.channel(channel), db)
            try Self.replaceSubscriptions(of: subscriber, with: rules, now: now, db)
            let confirmation = try Self.queueConfirmation(channelID: channel.id, address: email, now: now, interval: confirmationInterval, db)
            return .created(subscriberID: subscriber.id, channelID: channel.id, confirmation: confirmation)
        }
    }

    /// Whether `subscriberID` signed up on the public page.
    public func isReader(_ subscriberID: String) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM reader_signup WHERE subscriber_id = ?", arguments: [subscriberID]) ?? false
        }
    }

    /// Replaces every subscription of `subscriber` with one per rule (tombstones for the old ones).
    static func replaceSubscriptions(of subscriber: Subscriber, with rules: [SubscriptionRule], now: Date, _ db: Database) throws {
        for id in try String.fetchAll(db, sql: "SELECT id FROM subscription WHERE subscriber_id = ? ORDER BY id", arguments: [subscriber.id]) {
            try db.execute(sql: "DELETE FROM subscription WHERE id = ?", arguments: [id])
            try Self.rememberDeleted(id, db)
            try Self.enqueue(.deleted(id: id), db)
        }
        for rule in rules {
            let subscription = Subscription(id: EntityID.make(EntityID.subscriptionPrefix), subscriberID: subscriber.id, name: "signup", rule: rule, changedAt: now)
            try Self.save(subscription, db)
            try Self.enqueue(.subscription(subscription, subscriberTimeZone: subscriber.timeZone), db)
        }
    }

    static func isReaderWithoutChannels(_ subscriberID: String, _ db: Database) throws -> Bool {
        let reader = try Bool.fetchOne(db, sql: "SELECT 1 FROM reader_signup WHERE subscriber_id = ?", arguments: [subscriberID]) ?? false
        let channels = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM channel WHERE subscriber_id = ?", arguments: [subscriberID]) ?? 0
        return reader && channels == 0
    }

    /// Deletes a subscriber with its subscriptions, channels and tokens, each with a tombstone on the changelog.
    static func deleteSubscriberEntirely(_ subscriberID: String, _ db: Database) throws {
        for id in try String.fetchAll(db, sql: "SELECT id FROM subscription WHERE subscriber_id = ? ORDER BY id", arguments: [subscriberID])
            + String.fetchAll(db, sql: "SELECT id FROM channel WHERE subscriber_id = ? ORDER BY id", arguments: [subscriberID]) {
            try Self.rememberDeleted(id, db)
            try Self.enqueue(.deleted(id: id), db)
        }
        try db.execute(sql: "DELETE FROM subscriber WHERE id = ?", arguments: [subscriberID])
        try Self.rememberDeleted(subscriberID, db)
        try Self.enqueue(.deleted(id: subscriberID), db)
    }
}
