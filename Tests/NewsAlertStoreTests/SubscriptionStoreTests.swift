import Foundation
import NewsAlertCore
import NewsAlertStore
import Testing

/// The subscription store: ownership, the changelog outbox, and replicas rebuilt from the changelog.
@Suite struct SubscriptionStoreTests {
    /// Reads the outbox the way `ChangelogPublisher` does and applies every change to `replica`, in order.
    static func replicate(_ primary: AppDatabase, into replica: AppDatabase) async throws {
        let pending = try await primary.pendingChanges(limit: 10_000)
        for change in pending {
            try await replica.apply(try SubscriptionChange(key: change.key, value: change.value))
        }
        if let last = pending.last { try await primary.removePublishedChanges(through: last.sequence) }
    }

    @Test func aReplicaBuiltFromTheChangelogEqualsThePrimaryIncludingDeletes() async throws {
        let primary = try AppDatabase.inMemory()
        let alice = try await primary.createSubscriber(name: "Alice", timeZone: "Europe/Berlin", budget: Budget(perHour: 5))
        let bob = try await primary.createSubscriber(name: "Bob", timeZone: "Asia/Beirut", budget: .unlimited)
        let hook = try await primary.createChannel(subscriberID: alice.id, kind: .webhook, target: "https://example.com/a", secrets: ["whsec_a"])
        let mail = try await primary.createChannel(subscriberID: bob.id, kind: .email, target: "bob@example.com", secrets: [])
        let mena = try await primary.createSubscription(subscriberID: alice.id, name: "MENA", rule: SubscriptionRule(regions: ["MENA"]))
        let gone = try await primary.createSubscription(subscriberID: bob.id, name: nil, rule: SubscriptionRule(sections: ["Economy"]))
        _ = try await primary.updateSubscription(id: mena.id, subscriberID: alice.id) { $0.rule = SubscriptionRule(regions: ["MENA", "Europe"]) }
        #expect(try await primary.deleteSubscription(id: gone.id, subscriberID: bob.id))
        #expect(try await primary.deleteChannel(id: mail.id, subscriberID: bob.id))
        _ = try await primary.setSubscriberStatus(id: bob.id, status: .disabled)

        let replica = try AppDatabase.inMemory()
        try await Self.replicate(primary, into: replica)
        let expected = try await primary.snapshot()
        #expect(try await replica.snapshot() == expected)
        #expect(expected.map(\.key).contains(hook.id))
        #expect(!expected.map(\.key).contains(gone.id))
        #expect(!expected.map(\.key).contains(mail.id))
        #expect(try await primary.pendingChanges(limit: 10).isEmpty, "published changes leave the outbox")
    }

    @Test func aClusterNewToTheStoreGetsTheWholeStateAgain() async throws {
        let primary = try AppDatabase.inMemory()
        let alice = try await primary.createSubscriber(name: "Alice", timeZone: "Asia/Beirut", budget: .unlimited)
        _ = try await primary.createChannel(subscriberID: alice.id, kind: .webhook, target: "https://example.com/a", secrets: ["whsec_a"])
        _ = try await primary.createSubscription(subscriberID: alice.id, name: nil, rule: SubscriptionRule(regions: ["MENA"]))
        #expect(try await primary.queueSnapshot(forCluster: "cluster-1") == 3)
        let first = try AppDatabase.inMemory()
        try await Self.replicate(primary, into: first)
        #expect(try await primary.queueSnapshot(forCluster: "cluster-1") == 0, "the same cluster already holds it")
        #expect(try await primary.pendingChanges(limit: 10).isEmpty)

        // The broker restarted empty: a replica reading only the new changelog still ends with everything.
        #expect(try await primary.queueSnapshot(forCluster: "cluster-2") == 3)
        let second = try AppDatabase.inMemory()
        try await Self.replicate(primary, into: second)
        #expect(try await second.snapshot() == (try await primary.snapshot()))
    }

    @Test func replayingTheSameChangesAgainOrOlderOnesChangesNothing() async throws {
        let primary = try AppDatabase.inMemory()
        let alice = try await primary.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let rule = try await primary.createSubscription(subscriberID: alice.id, name: nil, rule: SubscriptionRule(all: true))
        let changes = try await primary.pendingChanges(limit: 100)
        let updated = try await primary.updateSubscription(id: rule.id, subscriberID: alice.id) { $0.status = .disabled }
        let replica = try AppDatabase.inMemory()
        try await Self.replicate(primary, into: replica)
        // A redelivery of the first (older) records must not undo the later change.
        for change in changes {
            #expect(try await replica.apply(try SubscriptionChange(key: change.key, value: change.value)) == false)
        }
        #expect(try await replica.snapshot() == (try await primary.snapshot()))
        #expect(try await replica.subscription(id: rule.id, subscriberID: alice.id)?.status == updated.status)
    }

    @Test func aDeletedSubscriptionStaysDeletedWhenItsOlderRecordsAreReplayed() async throws {
        let database = try AppDatabase.inMemory()
        let alice = try await database.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let rule = try await database.createSubscription(subscriberID: alice.id, name: nil, rule: SubscriptionRule(all: true))
        let records = try await database.pendingChanges(limit: 100)
        #expect(try await database.deleteSubscription(id: rule.id, subscriberID: alice.id))
        // The node's own replica reads the changelog after the delete: the older upsert must not bring it back.
        for record in records {
            try await database.apply(try SubscriptionChange(key: record.key, value: record.value))
        }
        #expect(try await database.subscription(id: rule.id, subscriberID: alice.id) == nil)
    }

    @Test func aChannelArrivingBeforeItsSubscriberIsKeptAndTheSubscriberFillsIn() async throws {
        let primary = try AppDatabase.inMemory()
        let alice = try await primary.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let hook = try await primary.createChannel(subscriberID: alice.id, kind: .ticker, target: "", secrets: [])
        let replica = try AppDatabase.inMemory()
        // Different keys live on different partitions: the channel may come first.
        try await replica.apply(.channel(hook))
        #expect(try await replica.channels(of: alice.id).map(\.id) == [hook.id])
        #expect(try await replica.subscriber(id: alice.id) == nil, "a placeholder is not a subscriber")
        try await replica.apply(.subscriber(alice))
        let replicated = try #require(try await replica.subscriber(id: alice.id))
        #expect((replicated.name, replicated.timeZone, replicated.status, replicated.version) == (alice.name, alice.timeZone, alice.status, alice.version))
        // SQLite keeps milliseconds; the in-memory value may differ below that.
        #expect(abs(replicated.changedAt.timeIntervalSince(alice.changedAt)) < 0.002)
    }

    @Test func subscribersSeeAndChangeOnlyTheirOwnRulesAndChannels() async throws {
        let database = try AppDatabase.inMemory()
        let alice = try await database.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let mallory = try await database.createSubscriber(name: "Mallory", timeZone: "UTC", budget: .unlimited)
        let rule = try await database.createSubscription(subscriberID: alice.id, name: nil, rule: SubscriptionRule(all: true))
        let channel = try await database.createChannel(subscriberID: alice.id, kind: .ticker, target: "", secrets: [])
        #expect(try await database.subscription(id: rule.id, subscriberID: mallory.id) == nil)
        #expect(try await database.deleteSubscription(id: rule.id, subscriberID: mallory.id) == false)
        #expect(try await database.deleteChannel(id: channel.id, subscriberID: mallory.id) == false)
        await #expect(throws: SubscriptionStoreError.notFound) {
            _ = try await database.updateSubscription(id: rule.id, subscriberID: mallory.id) { $0.status = .disabled }
        }
        #expect(try await database.subscriptions(of: alice.id).map(\.id) == [rule.id])
        #expect(try await database.subscriptions(of: mallory.id).isEmpty)
    }

    @Test func tokensAuthenticateTheirSubscriberUntilItIsDisabled() async throws {
        let database = try AppDatabase.inMemory()
        let alice = try await database.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let token = try await database.issueSubscriberToken(subscriberID: alice.id)
        #expect(try await database.authenticateSubscriber(token: token.token) == alice.id)
        #expect(try await database.authenticateSubscriber(token: token.token + "x") == nil)
        _ = try await database.setSubscriberStatus(id: alice.id, status: .disabled)
        #expect(try await database.authenticateSubscriber(token: token.token) == nil)
    }

    @Test func duplicateChannelsAreRefused() async throws {
        let database = try AppDatabase.inMemory()
        let alice = try await database.createSubscriber(name: "Alice", timeZone: "UTC", budget: .unlimited)
        let first = try await database.createChannel(subscriberID: alice.id, kind: .email, target: "a@example.com", secrets: [])
        await #expect(throws: SubscriptionStoreError.duplicateChannel(existingID: first.id)) {
            _ = try await database.createChannel(subscriberID: alice.id, kind: .email, target: "a@example.com", secrets: [])
        }
    }
}
