import Foundation
import GRDB
import NewsAlertCore

/// One subscriber as `GET /v1/subscribers/export` writes it: the import line shape, with its channels' secrets.
public struct SubscriberExport: Sendable {
    public var subscriber: Subscriber
    /// The newsroom's key; nil for a subscriber created through the API (the export then uses its id).
    public var externalID: String?
    /// Webhook and email channels (the ticker has no line shape).
    public var channels: [DeliveryChannel]
    public var subscriptions: [Subscription]
}

extension AppDatabase {
    /// Imports a batch of checked lines in one transaction, each keyed by its `external_id`: a new subscriber, an
    /// update to what the line says (channels and rules not on the line are removed), or nothing when nothing
    /// differs. Every change goes to the changelog outbox in the same transaction.
    ///
    /// `importID` names the whole import: an `external_id` already written by the same import is a duplicate line
    /// and changes nothing.
    public func importSubscribers(_ lines: [SubscriberImport], importID: String) async throws -> [SubscriberImportOutcome] {
        try await writer.write { db in
            let now = Date.storeNow
            return try lines.map { try Self.importSubscriber($0, importID: importID, now: now, db) }
        }
    }

    private static func importSubscriber(_ line: SubscriberImport, importID: String, now: Date, _ db: Database) throws -> SubscriberImportOutcome {
        let known = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT subscriber_id, import_id, import_line FROM subscriber_external_id WHERE external_id = ?"),
            arguments: [line.externalID])
        var subscriberID: String? = known?["subscriber_id"]
        if let known, known["import_id"] as String? == importID {
            return SubscriberImportOutcome(line: line.line, externalID: line.externalID, status: .duplicate, subscriberID: subscriberID ?? "", firstLine: known["import_line"])
        }
        if subscriberID == nil, line.externalID.hasPrefix(EntityID.subscriberPrefix),
           try Bool.fetchOne(db, sql: """
               SELECT 1 FROM subscriber s WHERE s.id = ? AND s.version >= 1
               AND NOT EXISTS (SELECT 1 FROM subscriber_external_id e WHERE e.subscriber_id = s.id)
               """, arguments: [line.externalID]) == true {
            // An exported subscriber that was created through the API: its id stood in for the external id.
            subscriberID = line.externalID
        }
        let outcome: SubscriberImportOutcome
        if let subscriberID, let subscriber = try fetchSubscriber(id: subscriberID, db) {
            outcome = try update(subscriber, to: line, now: now, db)
        } else {
            outcome = try create(line, now: now, db)
        }
        try db.cachedStatement(sql: """
            INSERT INTO subscriber_external_id (external_id, subscriber_id, import_id, import_line) VALUES (?, ?, ?, ?)
            ON CONFLICT(external_id) DO UPDATE SET subscriber_id = excluded.subscriber_id, import_id = excluded.import_id, import_line = excluded.import_line
            """).execute(arguments: [line.externalID, outcome.subscriberID, importID, line.line])
        return outcome
    }

    private static func create(_ line: SubscriberImport, now: Date, _ db: Database) throws -> SubscriberImportOutcome {
        let subscriber = Subscriber(id: EntityID.make(EntityID.subscriberPrefix), name: line.name, timeZone: line.timeZone, budget: line.budget, changedAt: now)
        try save(subscriber, db)
        try enqueue(.subscriber(subscriber), db)
        let channels = try line.channels.map { try createChannel($0, of: subscriber.id, now: now, db) }
        for rule in line.rules { try createSubscription(rule, of: subscriber, now: now, db) }
        return SubscriberImportOutcome(line: line.line, externalID: line.externalID, status: .created, subscriberID: subscriber.id, channels: channels)
    }

    private static func update(_ current: Subscriber, to line: SubscriberImport, now: Date, _ db: Database) throws -> SubscriberImportOutcome {
        var changed = false
        var subscriber = current
        subscriber.name = line.name
        subscriber.timeZone = line.timeZone
        subscriber.budget = line.budget
        let zoneChanged = subscriber.timeZone != current.timeZone
        if subscriber != current {
            subscriber.version += 1
            subscriber.changedAt = now
            try save(subscriber, db)
            try enqueue(.subscriber(subscriber), db)
            changed = true
        }

        var existingChannels = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM channel WHERE subscriber_id = ? AND kind IN ('webhook', 'email') ORDER BY id"),
            arguments: [subscriber.id]).map(channel(from:))
        var channels: [SubscriberImportOutcome.Channel] = []
        for wanted in line.channels {
            guard let index = existingChannels.firstIndex(where: { $0.kind == wanted.kind && $0.target == wanted.target }) else {
                channels.append(try createChannel(wanted, of: subscriber.id, now: now, db))
                changed = true
                continue
            }
            var channel = existingChannels.remove(at: index)
            if wanted.secretGiven, let secret = wanted.secret, channel.secrets != [secret] {
                channel.secrets = [secret]
                channel.version += 1
                channel.changedAt = now
                try save(channel, db)
                try enqueue(.channel(channel), db)
                changed = true
            }
            channels.append(SubscriberImportOutcome.Channel(id: channel.id, kind: channel.kind, target: channel.target, generatedSecret: nil))
        }
        for gone in existingChannels {
            try db.cachedStatement(sql: "DELETE FROM channel WHERE id = ?").execute(arguments: [gone.id])
            try rememberDeleted(gone.id, db)
            try enqueue(.deleted(id: gone.id), db)
            changed = true
        }

        var existingSubscriptions = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM subscription WHERE subscriber_id = ? ORDER BY id"), arguments: [subscriber.id]).map(subscription(from:))
        for rule in line.rules {
            if let index = existingSubscriptions.firstIndex(where: { $0.rule == rule }) {
                var kept = existingSubscriptions.remove(at: index)
                if zoneChanged {
                    // Subscription records carry their subscriber's zone, in which replicas read quiet hours.
                    kept.version += 1
                    kept.changedAt = now
                    try save(kept, db)
                    try enqueue(.subscription(kept, subscriberTimeZone: subscriber.timeZone), db)
                }
                continue
            }
            try createSubscription(rule, of: subscriber, now: now, db)
            changed = true
        }
        for gone in existingSubscriptions {
            try db.cachedStatement(sql: "DELETE FROM subscription WHERE id = ?").execute(arguments: [gone.id])
            try rememberDeleted(gone.id, db)
            try enqueue(.deleted(id: gone.id), db)
            changed = true
        }
        return SubscriberImportOutcome(line: line.line, externalID: line.externalID, status: changed ? .updated : .unchanged, subscriberID: subscriber.id, channels: channels)
    }

    private static func createChannel(_ wanted: SubscriberImport.Channel, of subscriberID: String, now: Date, _ db: Database) throws -> SubscriberImportOutcome.Channel {
        let channel = DeliveryChannel(
            id: EntityID.make(EntityID.channelPrefix), subscriberID: subscriberID, kind: wanted.kind, target: wanted.target,
            secrets: wanted.secret.map { [$0] } ?? [], changedAt: now)
        try save(channel, db)
        try enqueue(.channel(channel), db)
        if channel.awaitsConfirmation {
            // Consent before mail: an imported address is confirmed by its owner, like one added through the API.
            _ = try queueConfirmation(channelID: channel.id, address: channel.target, now: now, interval: EmailConfirmationPolicy.defaultInterval, db)
        }
        return SubscriberImportOutcome.Channel(id: channel.id, kind: channel.kind, target: channel.target, generatedSecret: wanted.secretGiven ? nil : wanted.secret)
    }

    private static func createSubscription(_ rule: SubscriptionRule, of subscriber: Subscriber, now: Date, _ db: Database) throws {
        let subscription = Subscription(id: EntityID.make(EntityID.subscriptionPrefix), subscriberID: subscriber.id, rule: rule, changedAt: now)
        try save(subscription, db)
        try enqueue(.subscription(subscription, subscriberTimeZone: subscriber.timeZone), db)
    }

    /// Up to `limit` subscribers after `afterID` in id order, each with its external id, channels and rules.
    public func subscriberExportPage(after afterID: String?, limit: Int) async throws -> [SubscriberExport] {
        try await writer.read { db in
            let subscribers = try Row.fetchAll(
                db, sql: "SELECT * FROM subscriber WHERE version >= 1 AND id > ? ORDER BY id LIMIT ?", arguments: [afterID ?? "", limit]
            ).map(Self.subscriber(from:))
            guard let first = subscribers.first?.id, let last = subscribers.last?.id else { return [] }
            let range: StatementArguments = [first, last]
            let externalIDs = Dictionary(uniqueKeysWithValues: try Row.fetchAll(
                db, sql: "SELECT subscriber_id, external_id FROM subscriber_external_id WHERE subscriber_id BETWEEN ? AND ?", arguments: range
            ).map { ($0["subscriber_id"] as String, $0["external_id"] as String) })
            let channels = Dictionary(grouping: try Row.fetchAll(
                db, sql: "SELECT * FROM channel WHERE subscriber_id BETWEEN ? AND ? AND kind IN ('webhook', 'email') ORDER BY changed_at, id", arguments: range
            ).map(Self.channel(from:)), by: \.subscriberID)
            let subscriptions = Dictionary(grouping: try Row.fetchAll(
                db, sql: "SELECT * FROM subscription WHERE subscriber_id BETWEEN ? AND ? ORDER BY changed_at, id", arguments: range
            ).map(Self.subscription(from:)), by: \.subscriberID)
            return subscribers.map { subscriber in
                SubscriberExport(
                    subscriber: subscriber, externalID: externalIDs[subscriber.id],
                    channels: channels[subscriber.id] ?? [], subscriptions: subscriptions[subscriber.id] ?? [])
            }
        }
    }
}
