import Foundation
import NewsAlertCore
import NewsAlertStore
import Testing

/// Double opt-in in the store: an email address gets nothing until confirmed, one confirmation mail an hour, expiry.
@Suite struct EmailConfirmationTests {
    static func catalog(_ database: AppDatabase) async throws -> SubscriptionCatalog {
        var catalog = SubscriptionCatalog()
        for change in try await database.snapshot() { catalog.apply(change) }
        return catalog
    }

    @Test func anUnconfirmedAddressGetsNoAlertsUntilItsOwnerConfirms() async throws {
        let database = try AppDatabase.inMemory()
        let reader = try await database.createSubscriber(name: "Reader", timeZone: "UTC", budget: .unlimited)
        let mail = try await database.createChannel(subscriberID: reader.id, kind: .email, target: "reader@example.com", secrets: [])
        let ticker = try await database.createChannel(subscriberID: reader.id, kind: .ticker, target: "", secrets: [])
        #expect(mail.awaitsConfirmation && !mail.isDeliverable)
        #expect(try await Self.catalog(database).activeChannels(of: reader.id).map(\.id) == [ticker.id].sorted())
        let due = try await database.dueConfirmations(now: Date())
        #expect(due.map(\.channelID) == [mail.id])
        #expect(due.first?.address == "reader@example.com")

        #expect(try await database.confirmChannel(id: mail.id, address: "someone-else@example.com") == nil, "a link for another address confirms nothing")
        let confirmed = try #require(try await database.confirmChannel(id: mail.id, address: "reader@example.com"))
        #expect(confirmed.consent?.source == "confirmation link")
        #expect(confirmed.version == mail.version + 1)
        #expect(Set(try await Self.catalog(database).activeChannels(of: reader.id).map(\.id)) == [mail.id, ticker.id])
        #expect(try await database.dueConfirmations(now: Date()).isEmpty, "a confirmed channel owes no mail")

        // The consent travels on the changelog: a replica sees the channel confirmed too.
        let replica = try AppDatabase.inMemory()
        try await SubscriptionStoreTests.replicate(database, into: replica)
        let replicated = try #require(try await replica.channel(id: mail.id)?.consent)
        #expect(replicated.source == "confirmation link")
        // Times travel as RFC 3339 with milliseconds.
        #expect(abs(replicated.confirmedAt.timeIntervalSince(try #require(confirmed.consent).confirmedAt)) < 0.001)
        #expect(try await Self.catalog(replica).activeChannels(of: reader.id).contains { $0.id == mail.id })
    }

    @Test func atMostOneConfirmationMailPerAddressAnHour() async throws {
        let database = try AppDatabase.inMemory()
        var channels: [DeliveryChannel] = []
        for index in 0..<5 {
            let subscriber = try await database.createSubscriber(name: "Signup \(index)", timeZone: "UTC", budget: .unlimited)
            // The same address (in any case) asked for by five subscribers within the hour.
            channels.append(try await database.createChannel(
                subscriberID: subscriber.id, kind: .email, target: index.isMultiple(of: 2) ? "victim@example.com" : "Victim@Example.com", secrets: []))
        }
        #expect(try await database.dueConfirmations(now: Date()).map(\.channelID) == [channels[0].id])
        #expect(try await database.requestConfirmation(channelID: channels[0].id) == .rateLimited)
        try await database.recordConfirmationAttempt(channelID: channels[0].id, sent: true, retryAt: nil, error: nil)
        #expect(try await database.dueConfirmations(now: Date()).isEmpty)
        // After the interval the owner may ask again (a zero interval stands for the hour having passed).
        #expect(try await database.requestConfirmation(channelID: channels[1].id, interval: 0) == .queued)
        #expect(try await database.dueConfirmations(now: Date()).map(\.channelID) == [channels[1].id])
    }

    @Test func unconfirmedChannelsExpireAndConfirmedOnesStay() async throws {
        let database = try AppDatabase.inMemory()
        let reader = try await database.createSubscriber(name: "Reader", timeZone: "UTC", budget: .unlimited)
        let waiting = try await database.createChannel(subscriberID: reader.id, kind: .email, target: "late@example.com", secrets: [])
        let kept = try await database.createChannel(subscriberID: reader.id, kind: .email, target: "quick@example.com", secrets: [], confirmationInterval: 0)
        _ = try #require(try await database.confirmChannel(id: kept.id, address: kept.target))
        #expect(try await database.expireUnconfirmedChannels(now: Date(), window: 3600).isEmpty, "nothing is older than the window yet")
        let expired = try await database.expireUnconfirmedChannels(now: Date().addingTimeInterval(3601), window: 3600)
        #expect(expired == [waiting.id])
        #expect(try await database.channel(id: waiting.id) == nil)
        #expect(try await database.channel(id: kept.id) != nil)
        #expect(try await database.pendingChanges(limit: 100).contains { $0.key == waiting.id && $0.value == nil }, "the expiry is a tombstone on the changelog")
    }

    @Test func anAdminImportRecordsConsentAndSendsNoConfirmation() async throws {
        let database = try AppDatabase.inMemory()
        let desk = try await database.createSubscriber(name: "Desk", timeZone: "UTC", budget: .unlimited)
        let consent = DeliveryChannel.Consent(confirmedAt: Date(timeIntervalSince1970: 1_700_000_000), source: "newsletter form, 2023")
        let mail = try await database.createChannel(subscriberID: desk.id, kind: .email, target: "desk@example.com", secrets: [], consent: consent)
        #expect(mail.isDeliverable)
        #expect(try await database.channel(id: mail.id)?.consent == consent)
        #expect(try await database.dueConfirmations(now: Date()).isEmpty)
    }
}
