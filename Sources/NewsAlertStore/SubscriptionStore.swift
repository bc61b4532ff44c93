import Foundation
import GRDB
import NewsAlertCore

/// Why a subscription-store write was refused; the HTTP edge maps these to 404/409/422.
public enum SubscriptionStoreError: Error, Sendable, Equatable {
    /// The subscriber, channel or subscription does not exist (or belongs to someone else).
    case notFound
    /// A channel of that kind and target already exists for the subscriber.
    case duplicateChannel(existingID: String)
}

/// A subscriber token as issued: the secret is shown once; only its hash is stored.
public struct IssuedSubscriberToken: Sendable {
    public var id: String
    public var subscriberID: String
    public var token: String
}

/// One change of the changelog outbox, waiting to be published.
public struct PendingChange: Sendable {
    public var sequence: Int64
    public var key: String
    public var value: Data?
}

extension AppDatabase {
    // MARK: Subscribers

    /// Creates an active subscriber.
    public func createSubscriber(name: String, timeZone: String, budget: Budget) async throws -> Subscriber {
        let subscriber = Subscriber(id: EntityID.make(EntityID.subscriberPrefix), name: name, timeZone: timeZone, budget: budget, changedAt: Date.storeNow)
        try await writer.write { db in
            try Self.save(subscriber, db)
            try Self.enqueue(.subscriber(subscriber), db)
        }
        return subscriber
    }

    public func subscriber(id: String) async throws -> Subscriber? {
        try await writer.read { db in try Self.fetchSubscriber(id: id, db) }
    }

    /// Subscribers in creation order (ids are random, so by name then id).
    public func subscribers(limit: Int) async throws -> [Subscriber] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscriber WHERE version >= 1 ORDER BY changed_at, id LIMIT ?", arguments: [limit]).map(Self.subscriber(from:))
        }
    }

    /// Enables or disables a subscriber; a disabled subscriber's rules match nothing and its tokens stop working.
    public func setSubscriberStatus(id: String, status: Subscriber.Status) async throws -> Subscriber {
        try await writer.write { db in
            guard var subscriber = try Self.fetchSubscriber(id: id, db) else { throw SubscriptionStoreError.notFound }
            guard subscriber.status != status else { return subscriber }
            subscriber.status = status
            subscriber.version += 1
            subscriber.changedAt = Date.storeNow
            try Self.save(subscriber, db)
            try Self.enqueue(.subscriber(subscriber), db)
            // Each subscription record carries its subscriber's zone; re-publishing is not needed for a status change.
            return subscriber
        }
    }

    /// Issues a token (`nst_` + 32 random bytes) with which the subscriber manages its own rules and channels.
    public func issueSubscriberToken(subscriberID: String) async throws -> IssuedSubscriberToken {
        let token = "nst_" + Self.randomSecret()
        let id = "tok_" + String(Self.hash(token).prefix(12))
        try await writer.write { db in
            guard try Self.fetchSubscriber(id: subscriberID, db) != nil else { throw SubscriptionStoreError.notFound }
            try db.execute(
                sql: "INSERT INTO subscriber_token (id, subscriber_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [id, subscriberID, Self.hash(token), Date.storeNow])
        }
        return IssuedSubscriberToken(id: id, subscriberID: subscriberID, token: token)
    }

    /// The active subscriber a token belongs to, or nil.
    public func authenticateSubscriber(token: String) async throws -> String? {
        let hash = Self.hash(token)
        return try await writer.read { db in
            try String.fetchOne(db, sql: """
                SELECT s.id FROM subscriber_token t JOIN subscriber s ON s.id = t.subscriber_id
                WHERE t.secret_hash = ? AND t.revoked_at IS NULL AND s.status = 'active'
                """, arguments: [hash])
        }
    }

    // MARK: Channels

    public func channels(of subscriberID: String) async throws -> [DeliveryChannel] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM channel WHERE subscriber_id = ? ORDER BY changed_at, id", arguments: [subscriberID]).map(Self.channel(from:))
        }
    }

    public func channel(id: String) async throws -> DeliveryChannel? {
        try await writer.read { db in try Self.fetchChannel(id: id, db) }
    }

    /// Adds a channel; a second channel with the same kind and target is refused.
    ///
    /// An email channel without `consent` waits for its owner: a confirmation mail is queued in the same transaction
    /// (unless one went to the address within `confirmationInterval`), and no alert goes to it until it is confirmed.
    public func createChannel(
        subscriberID: String, kind: DeliveryChannel.Kind, target: String, secrets: [String], consent: DeliveryChannel.Consent? = nil,
        confirmationInterval: TimeInterval = EmailConfirmationPolicy.defaultInterval
    ) async throws -> DeliveryChannel {
        let channel = DeliveryChannel(
            id: EntityID.make(EntityID.channelPrefix), subscriberID: subscriberID, kind: kind, target: target, secrets: secrets,
            consent: kind == .email ? consent : nil, changedAt: Date.storeNow)
        return try await writer.write { db in
            guard try Self.fetchSubscriber(id: subscriberID, db) != nil else { throw SubscriptionStoreError.notFound }
            if let existing = try String.fetchOne(
                db, sql: "SELECT id FROM channel WHERE subscriber_id = ? AND kind = ? AND target = ?", arguments: [subscriberID, kind.rawValue, target]) {
                throw SubscriptionStoreError.duplicateChannel(existingID: existing)
            }
            try Self.save(channel, db)
            try Self.enqueue(.channel(channel), db)
            if channel.awaitsConfirmation {
                _ = try Self.queueConfirmation(channelID: channel.id, address: target, now: channel.changedAt, interval: confirmationInterval, db)
            }
            return channel
        }
    }

    /// Applies `change` to one of `subscriberID`'s channels and publishes the result.
    public func updateChannel(id: String, subscriberID: String, _ change: @Sendable (inout DeliveryChannel) -> Void) async throws -> DeliveryChannel {
        try await writer.write { db in
            guard var channel = try Self.fetchChannel(id: id, db), channel.subscriberID == subscriberID else { throw SubscriptionStoreError.notFound }
            change(&channel)
            channel.version += 1
            channel.changedAt = Date.storeNow
            try Self.save(channel, db)
            try Self.enqueue(.channel(channel), db)
            return channel
        }
    }

    /// Deletes one of `subscriberID`'s channels; false if there is no such channel.
    /// Rules that named the channel stop naming it (and are published again); a rule left with no channel of its
    /// own delivers to all of the subscriber's channels, as a rule that never named one does.
    public func deleteChannel(id: String, subscriberID: String) async throws -> Bool {
        try await writer.write { db in try Self.deleteChannel(id: id, subscriberID: subscriberID, db) }
    }

    static func deleteChannel(id: String, subscriberID: String, _ db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM channel WHERE id = ? AND subscriber_id = ?", arguments: [id, subscriberID])
        guard db.changesCount > 0 else { return false }
        try Self.rememberDeleted(id, db)
        try Self.enqueue(.deleted(id: id), db)
        guard let subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { return true }
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM subscription WHERE subscriber_id = ?", arguments: [subscriberID])
        for var subscription in try rows.map(Self.subscription(from:)) where subscription.rule.channels?.contains(id) == true {
            let remaining = subscription.rule.channels?.filter { $0 != id } ?? []
            subscription.rule.channels = remaining.isEmpty ? nil : remaining
            subscription.version += 1
            subscription.changedAt = Date.storeNow
            try Self.save(subscription, db)
            try Self.enqueue(.subscription(subscription, subscriberTimeZone: subscriber.timeZone), db)
        }
        return true
    }

    // MARK: Subscriptions

    public func subscriptions(of subscriberID: String) async throws -> [Subscription] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscription WHERE subscriber_id = ? ORDER BY changed_at, id", arguments: [subscriberID]).map(Self.subscription(from:))
        }
    }

    /// One subscription, only if it belongs to `subscriberID`.
    public func subscription(id: String, subscriberID: String) async throws -> Subscription? {
        try await writer.read { db in
            try Self.fetchSubscription(id: id, db).flatMap { $0.subscriberID == subscriberID ? $0 : nil }
        }
    }

    public func createSubscription(subscriberID: String, name: String?, rule: SubscriptionRule) async throws -> Subscription {
        let subscription = Subscription(id: EntityID.make(EntityID.subscriptionPrefix), subscriberID: subscriberID, name: name, rule: rule, changedAt: Date.storeNow)
        return try await writer.write { db in
            guard let subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { throw SubscriptionStoreError.notFound }
            try Self.save(subscription, db)
            try Self.enqueue(.subscription(subscription, subscriberTimeZone: subscriber.timeZone), db)
            return subscription
        }
    }

    /// Applies `change` to one of `subscriberID`'s subscriptions and publishes the result.
    public func updateSubscription(id: String, subscriberID: String, _ change: @Sendable (inout Subscription) -> Void) async throws -> Subscription {
        try await writer.write { db in
            guard var subscription = try Self.fetchSubscription(id: id, db), subscription.subscriberID == subscriberID,
                  let subscriber = try Self.fetchSubscriber(id: subscriberID, db) else { throw SubscriptionStoreError.notFound }
            change(&subscription)
            subscription.version += 1
            subscription.changedAt = Date.storeNow
            try Self.save(subscription, db)
            try Self.enqueue(.subscription(subscription, subscriberTimeZone: subscriber.timeZone), db)
            return subscription
        }
    }

    public func deleteSubscription(id: String, subscriberID: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM subscription WHERE id = ? AND subscriber_id = ?", arguments: [id, subscriberID])
            guard db.changesCount > 0 else { return false }
            try Self.rememberDeleted(id, db)
            try Self.enqueue(.deleted(id: id), db)
            return true
        }
    }

    /// Every subscription with its subscriber, for building the matching index.
    public func allSubscriptions() async throws -> [(Subscription, Subscriber)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.*, b.id AS b_id, b.name AS b_name, b.time_zone AS b_time_zone, b.status AS b_status, b.budget AS b_budget,
                       b.version AS b_version, b.changed_at AS b_changed_at
                FROM subscription s JOIN subscriber b ON b.id = s.subscriber_id ORDER BY s.id
                """).map { row in
                let subscriber = Subscriber(
                    id: row["b_id"], name: row["b_name"], timeZone: row["b_time_zone"], status: Subscriber.Status(rawValue: row["b_status"]) ?? .disabled,
                    budget: (try? JSONDecoder.newsAlert.decode(Budget.self, from: row["b_budget"] as Data)) ?? .unlimited,
                    version: row["b_version"], changedAt: row["b_changed_at"])
                return (try Self.subscription(from: row), subscriber)
            }
        }
    }

    /// The whole replicated state as changes in a canonical order: subscribers, channels, subscriptions.
    public func snapshot() async throws -> [SubscriptionChange] {
        try await writer.read(Self.snapshot)
    }

    private static func snapshot(_ db: Database) throws -> [SubscriptionChange] {
        let subscribers = try Row.fetchAll(db, sql: "SELECT * FROM subscriber WHERE version >= 1 ORDER BY id").map(Self.subscriber(from:))
        let zones = Dictionary(uniqueKeysWithValues: subscribers.map { ($0.id, $0.timeZone) })
        let channels = try Row.fetchAll(db, sql: "SELECT * FROM channel ORDER BY id").map(Self.channel(from:))
        let subscriptions = try Row.fetchAll(db, sql: "SELECT * FROM subscription ORDER BY id").map(Self.subscription(from:))
        return subscribers.map(SubscriptionChange.subscriber) + channels.map(SubscriptionChange.channel)
            + subscriptions.map { .subscription($0, subscriberTimeZone: zones[$0.subscriberID] ?? "UTC") }
    }

    // MARK: Changelog

    /// The oldest changes not yet published, in order.
    public func pendingChanges(limit: Int) async throws -> [PendingChange] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, key, value FROM changelog_outbox ORDER BY seq LIMIT ?", arguments: [limit]).map {
                PendingChange(sequence: $0["seq"], key: $0["key"], value: $0["value"])
            }
        }
    }

    /// Queues the whole state for publication when the changelog lives on a cluster this store has not published
    /// to yet (a restarted embedded broker, a move to another cluster), whose changelog starts without it.
    /// Returns how many changes were queued; 0 when `clusterID` is the cluster of the last call.
    public func queueSnapshot(forCluster clusterID: String) async throws -> Int {
        try await writer.write { db in
            let published = try String.fetchOne(db, sql: "SELECT cluster_id FROM changelog_cluster WHERE id = 1")
            guard published != clusterID else { return 0 }
            let changes = try Self.snapshot(db)
            for change in changes { try Self.enqueue(change, db) }
            try db.execute(sql: "INSERT OR REPLACE INTO changelog_cluster (id, cluster_id) VALUES (1, ?)", arguments: [clusterID])
            return changes.count
        }
    }

    /// The sequence number of the newest change ever queued for the changelog (0 before the first): a request
    /// that saw it grow changed subscription state, and its change is published once the outbox passes it.
    public func latestChangeSequence() async throws -> Int64 {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'changelog_outbox'") ?? 0
        }
    }

    /// Forgets published changes up to and including `sequence`.
    public func removePublishedChanges(through sequence: Int64) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM changelog_outbox WHERE seq <= ?", arguments: [sequence]) }
    }

    /// Applies a change read from `subscriptions.changelog` to this replica; true if it changed anything.
    ///
    /// A record is applied only when its version is higher than the one held, so replays and redeliveries are
    /// harmless. Records of different entities may arrive in any order (they live on different partitions), so a
    /// channel or subscription whose subscriber is not known yet gets a placeholder subscriber (version 0) that
    /// the subscriber's own record replaces.
    @discardableResult
    public func apply(_ change: SubscriptionChange) async throws -> Bool {
        try await writer.write { db in try Self.apply(change, db) }
    }

    /// Applies changes read from the changelog in one transaction, in order; how many changed anything.
    @discardableResult
    public func apply(_ changes: [SubscriptionChange]) async throws -> Int {
        guard !changes.isEmpty else { return 0 }
        return try await writer.write { db in try changes.reduce(0) { $0 + (try Self.apply($1, db) ? 1 : 0) } }
    }

    private static func apply(_ change: SubscriptionChange, _ db: Database) throws -> Bool {
        if try Self.wasDeleted(change.key, db), !Self.isDeletion(change) { return false }
        switch change {
        case .subscriber(let subscriber):
            guard try Self.heldVersion(table: "subscriber", id: subscriber.id, db) < subscriber.version else { return false }
            try Self.save(subscriber, db)
        case .channel(let channel):
            guard try Self.heldVersion(table: "channel", id: channel.id, db) < channel.version else { return false }
            try Self.ensureSubscriber(channel.subscriberID, db)
            try Self.save(channel, db)
        case .subscription(let subscription, let zone):
            guard try Self.heldVersion(table: "subscription", id: subscription.id, db) < subscription.version else { return false }
            try Self.ensureSubscriber(subscription.subscriberID, timeZone: zone, db)
            try Self.save(subscription, db)
        case .deleted(let id):
            try Self.rememberDeleted(id, db)
            let table = id.hasPrefix(EntityID.channelPrefix) ? "channel" : id.hasPrefix(EntityID.subscriberPrefix) ? "subscriber" : "subscription"
            try db.execute(sql: "DELETE FROM \(table) WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
        return true
    }

    // MARK: Rows

    static func enqueue(_ change: SubscriptionChange, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO changelog_outbox (key, value) VALUES (?, ?)").execute(arguments: [change.key, try change.value()])
    }

    static func rememberDeleted(_ id: String, _ db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO deleted_entity (id) VALUES (?)", arguments: [id])
    }

    private static func wasDeleted(_ id: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM deleted_entity WHERE id = ?"), arguments: [id]) ?? false
    }

    private static func isDeletion(_ change: SubscriptionChange) -> Bool {
        if case .deleted = change { return true }
        return false
    }

    private static func heldVersion(table: String, id: String, _ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM \(table) WHERE id = ?"), arguments: [id]) ?? -1
    }

    private static func ensureSubscriber(_ id: String, timeZone: String = "UTC", _ db: Database) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO subscriber (id, name, time_zone, status, budget, version, changed_at) VALUES (?, '', ?, 'disabled', '{}', 0, ?)
            """, arguments: [id, timeZone, Date(timeIntervalSince1970: 0)])
    }

    static func save(_ subscriber: Subscriber, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO subscriber (id, name, time_zone, status, budget, version, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, status = excluded.status,
              budget = excluded.budget, version = excluded.version, changed_at = excluded.changed_at
            """).execute(arguments: [subscriber.id, subscriber.name, subscriber.timeZone, subscriber.status.rawValue,
                             try JSONEncoder.newsAlert.encode(subscriber.budget), subscriber.version, subscriber.changedAt])
    }

    static func save(_ channel: DeliveryChannel, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO channel (id, subscriber_id, kind, target, secrets, status, disabled_reason, confirmed_at, consent_source, version, changed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET target = excluded.target, secrets = excluded.secrets, status = excluded.status,
              disabled_reason = excluded.disabled_reason, confirmed_at = excluded.confirmed_at, consent_source = excluded.consent_source,
              version = excluded.version, changed_at = excluded.changed_at
            """).execute(arguments: [channel.id, channel.subscriberID, channel.kind.rawValue, channel.target, try JSONEncoder.newsAlert.encode(channel.secrets),
                             channel.status.rawValue, channel.disabledReason, channel.consent?.confirmedAt, channel.consent?.source,
                             channel.version, channel.changedAt])
    }

    static func save(_ subscription: Subscription, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO subscription (id, subscriber_id, name, rule, status, version, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, rule = excluded.rule, status = excluded.status,
              version = excluded.version, changed_at = excluded.changed_at
            """).execute(arguments: [subscription.id, subscription.subscriberID, subscription.name, try JSONEncoder.newsAlert.encode(subscription.rule),
                             subscription.status.rawValue, subscription.version, subscription.changedAt])
    }

    static func fetchSubscriber(id: String, _ db: Database) throws -> Subscriber? {
        try Row.fetchOne(db, sql: "SELECT * FROM subscriber WHERE id = ? AND version >= 1", arguments: [id]).map(subscriber(from:))
    }

    static func fetchChannel(id: String, _ db: Database) throws -> DeliveryChannel? {
        try Row.fetchOne(db, sql: "SELECT * FROM channel WHERE id = ?", arguments: [id]).map(channel(from:))
    }

    private static func fetchSubscription(id: String, _ db: Database) throws -> Subscription? {
        try Row.fetchOne(db, sql: "SELECT * FROM subscription WHERE id = ?", arguments: [id]).map(subscription(from:))
    }

    static func subscriber(from row: Row) throws -> Subscriber {
        Subscriber(
            id: row["id"], name: row["name"], timeZone: row["time_zone"], status: Subscriber.Status(rawValue: row["status"]) ?? .disabled,
            budget: try JSONDecoder.newsAlert.decode(Budget.self, from: row["budget"] as Data), version: row["version"], changedAt: row["changed_at"])
    }

    static func channel(from row: Row) throws -> DeliveryChannel {
        let confirmedAt: Date? = row["confirmed_at"]
        return DeliveryChannel(
            id: row["id"], subscriberID: row["subscriber_id"], kind: DeliveryChannel.Kind(rawValue: row["kind"]) ?? .ticker, target: row["target"],
            secrets: try JSONDecoder.newsAlert.decode([String].self, from: row["secrets"] as Data), status: DeliveryChannel.Status(rawValue: row["status"]) ?? .disabled,
            disabledReason: row["disabled_reason"], consent: confirmedAt.map { .init(confirmedAt: $0, source: row["consent_source"] ?? "") },
            version: row["version"], changedAt: row["changed_at"])
    }

    static func subscription(from row: Row) throws -> Subscription {
        Subscription(
            id: row["id"], subscriberID: row["subscriber_id"], name: row["name"],
            rule: try JSONDecoder.newsAlert.decode(SubscriptionRule.self, from: row["rule"] as Data),
            status: Subscription.Status(rawValue: row["status"]) ?? .disabled, version: row["version"], changedAt: row["changed_at"])
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64URLEncoded
    }
}

extension Date {
    /// Now, to the millisecond: what SQLite and the JSON records keep, so a stored value reads back equal.
    static var storeNow: Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}
