import Foundation
@testable import NewsAlertCore
import NewsAlertTestSupport
import Testing

/// The published contract (`schemas/*.json`) against the Swift model that writes it: every enum lists the
/// Swift cases, every object the keys the Swift encoder writes (`properties`), the ones it always writes
/// (`required`), and nothing else (`additionalProperties: false`).
///
/// Each type is encoded twice: with every optional set (all its keys) and with every optional nil (the keys
/// always present, since the encoder leaves a nil optional out).
@Suite struct SchemaContractTests {
    // MARK: news-event.schema.json

    @Test func newsEventEnumsAreTheSwiftTaxonomy() throws {
        let properties = try ContractSchema.load("news-event.schema.json")
        #expect(try properties.enumValues("kind") == NewsKind.allCases.map(\.rawValue))
        #expect(try properties.enumValues("section") == NewsSection.allCases.map(\.rawValue))
        #expect(try properties.enumValues("regions") == NewsRegion.allCases.map(\.rawValue))
        #expect(try properties.enumValues("status") == NewsStatus.allCases.map(\.rawValue))
        let urgency = try properties.property("urgency")
        #expect(urgency["minimum"] as? Int == Urgency.range.lowerBound)
        #expect(urgency["maximum"] as? Int == Urgency.range.upperBound)
    }

    @Test func newsEventPropertiesAreTheSwiftKeys() throws {
        let schema = try ContractSchema.load("news-event.schema.json")
        #expect(try schema.mismatches(full: Samples.fullEvent, minimal: Samples.minimalEvent) == [])
    }

    // MARK: news-enriched.schema.json

    @Test func enrichedObjectsAreTheSwiftKeys() throws {
        let schema = try ContractSchema.load("news-enriched.schema.json")
        #expect(try schema.mismatches(full: Samples.enriched(full: true), minimal: Samples.enriched(full: false)) == [])
        #expect(try schema.at("#/$defs/Enrichment").mismatches(full: Samples.enrichment(full: true), minimal: Samples.enrichment(full: false)) == [])
        #expect(try schema.at("#/$defs/PlaceMention").mismatches(full: Samples.place(full: true), minimal: Samples.place(full: false)) == [])
        #expect(try schema.at("#/$defs/EntityMention").mismatches(full: Samples.entity(full: true), minimal: Samples.entity(full: false)) == [])
        #expect(try schema.at("#/$defs/EnrichmentReason").mismatches(full: Samples.reason, minimal: Samples.reason) == [])
        #expect(try schema.at("#/$defs/StoryAssignment").mismatches(full: Samples.story(full: true), minimal: Samples.story(full: false)) == [])
    }

    @Test func enrichedEnumsAreTheSwiftModel() throws {
        let definitions = try ContractSchema.load("news-enriched.schema.json")
        #expect(try definitions.at("#/$defs/StoryAssignment").enumValues("relation") == StoryRelation.allCases.map(\.rawValue))
        #expect(try definitions.at("#/$defs/EntityMention").enumValues("kind") == EntityMention.Kind.allCases.map(\.rawValue))
        // Places are the gazetteer entries that name a location.
        let locations = GazetteerEntry.Kind.allCases.filter(\.isLocation).map(\.rawValue)
        #expect(try Set(definitions.at("#/$defs/PlaceMention").enumValues("kind")) == Set(locations))
    }

    // MARK: the subscriptions changelog

    @Test func changelogRecordsAreTheSwiftKeys() throws {
        // A record adds `entity`; a subscription's also `subscriber_time_zone`.
        #expect(try ContractSchema.load("subscriber-change.schema.json")
            .mismatches(full: Samples.subscriber, minimal: Samples.subscriber, added: ["entity"]) == [])
        #expect(try ContractSchema.load("subscriber-change.schema.json").at("#/$defs/Budget")
            .mismatches(full: Budget(perHour: 3, perDay: 10), minimal: Budget()) == [])
        #expect(try ContractSchema.load("channel-change.schema.json")
            .mismatches(full: Samples.channel(disabled: true), minimal: Samples.channel(disabled: false), added: ["entity"]) == [])
        #expect(try ContractSchema.load("subscription-change.schema.json")
            .mismatches(full: Samples.subscription(named: true), minimal: Samples.subscription(named: false),
                        added: ["entity", "subscriber_time_zone"]) == [])
    }

    @Test func changelogStatusesKindsAndIDPrefixesAreTheSwiftModel() throws {
        #expect(try ContractSchema.load("subscriber-change.schema.json").enumValues("status") == Subscriber.Status.allCases.map(\.rawValue))
        let channel = try ContractSchema.load("channel-change.schema.json")
        #expect(try channel.enumValues("status") == DeliveryChannel.Status.allCases.map(\.rawValue))
        #expect(try channel.enumValues("kind") == DeliveryChannel.Kind.allCases.map(\.rawValue))
        #expect(try ContractSchema.load("subscription-change.schema.json").enumValues("status") == Subscription.Status.allCases.map(\.rawValue))
        // The record key's property of each entity accepts its own id prefix and no other.
        let prefixes = ["subscriber": EntityID.subscriberPrefix, "channel": EntityID.channelPrefix, "subscription": EntityID.subscriptionPrefix]
        for (entity, _) in prefixes {
            let idProperty = try ContractSchema.load("\(entity)-change.schema.json").property("\(entity)_id")
            let pattern = try #require(idProperty["pattern"] as? String, "\(entity)_id has no pattern")
            for (other, prefix) in prefixes {
                let accepted = (prefix + "abc123").range(of: pattern, options: .regularExpression) != nil
                #expect(accepted == (other == entity), "\(entity)_id pattern on the prefix \(prefix)")
            }
        }
    }

    // MARK: subscription rules and alerts

    @Test func subscriptionRulePropertiesAreTheKeysTheDecoderAccepts() throws {
        let schema = try ContractSchema.load("subscription-rule.schema.json")
        // The decoder rejects unknown keys, so the schema allows exactly its coding keys.
        #expect(schema.mismatches(acceptedKeys: SubscriptionRule.CodingKeys.allCases.map(\.stringValue)) == [])
        #expect(try schema.at("#/$defs/QuietHours").mismatches(acceptedKeys: SubscriptionRule.QuietHoursSpec.CodingKeys.allCases.map(\.stringValue)) == [])
        #expect(try schema.at("#/$defs/Delivery").mismatches(acceptedKeys: SubscriptionRule.DeliverySpec.CodingKeys.allCases.map(\.stringValue)) == [])
    }

    @Test func ruleClausesAreTheSwiftModel() throws {
        let matched = try ContractSchema.load("alert.schema.json").at("#/properties/matched/items")
        #expect(try matched.enumValues("clause") == RuleClause.allCases.map(\.rawValue))
    }

    @Test func openAPIAnswersAreTheSwiftKeys() throws {
        let components = try ContractSchema.load("openapi.yaml")
        #expect(try components.at("#/components/schemas/Subscriber").mismatches(full: Samples.subscriber, minimal: Samples.subscriber) == [])
        #expect(try components.at("#/components/schemas/Subscription")
            .mismatches(full: Samples.subscription(named: true), minimal: Samples.subscription(named: false)) == [])
        let preview = try Samples.preview()
        #expect(try components.at("#/components/schemas/RulePreview").mismatches(full: preview, minimal: preview) == [])
        let item = try #require(preview.items.first, "the preview matched nothing")
        #expect(try components.at("#/components/schemas/RulePreview/properties/items/items").mismatches(full: item, minimal: item) == [])
    }

    @Test func tickerItemPropertiesAreTheSwiftKeys() throws {
        let item = TickerItem(type: .update, story: .init(storyID: "story-1", sequence: 2, updateOf: "evt-1"),
                              event: Alert.Event(Samples.enriched(full: true)), audience: ["sbr_a"])
        let minimal = TickerItem(type: .alert, story: .init(storyID: "story-1", sequence: 1, updateOf: nil),
                                 event: Alert.Event(Samples.enriched(full: false)), audience: [])
        #expect(try ContractSchema.load("ticker-item.schema.json").mismatches(full: item, minimal: minimal) == [])
    }
}

// MARK: - Values with every optional set, and with none

private enum Samples {
    static let noon = Date(timeIntervalSince1970: 1_780_000_000)

    static let fullEvent = NewsEvent(
        id: "evt-1", kind: .breaking, headline: "Quake hits Kawnin", summary: "s", body: "b", section: .politics, regions: [.asia],
        tags: ["quake"], byline: "By A", source: "Reuters", url: "https://example.com/a", urgency: .flash, publishedAt: noon,
        status: .usable, supersedes: "evt-0", language: "en", reason: "typo", storyOverride: .newStory)
    static let minimalEvent = NewsEvent(id: "evt-1", kind: .breaking, headline: "Quake hits Kawnin", publishedAt: noon)

    static func place(full: Bool) -> PlaceMention {
        PlaceMention(name: "Kawnin", kind: .city, country: full ? "MM" : nil, within: [], mentionedAs: "Kawnin")
    }

    static func entity(full: Bool) -> EntityMention {
        EntityMention(name: "UN", kind: .organisation, canonical: full ? "United Nations" : nil, country: full ? "US" : nil)
    }

    static let reason = EnrichmentReason(field: "section", value: "Politics", because: "a place abroad")

    static func enrichment(full: Bool) -> Enrichment {
        Enrichment(
            eventId: "evt-1", section: .politics, regions: [.asia], countries: ["MM"], places: [place(full: full)],
            entities: [entity(full: full)], urgency: .flash, readingTimeSeconds: full ? 30 : nil, language: "en",
            source: full ? "Reuters" : nil, speaker: full ? "The minister" : nil, headline: "Quake hits Kawnin",
            text: "quake hits kawnin", reasons: [reason])
    }

    static func story(full: Bool) -> StoryAssignment {
        StoryAssignment(
            storyId: "story-1", sequence: 2, updateOf: full ? "evt-0" : nil, relation: .update, supersedes: full ? "evt-0" : nil,
            similarity: 0.8, addsInformation: true, newInformation: ["toll"], because: "same place and event type")
    }

    static func enriched(full: Bool) -> EnrichedEvent {
        EnrichedEvent(event: full ? fullEvent : minimalEvent, enrichment: enrichment(full: full), story: story(full: full), enrichedAt: noon)
    }

    static let subscriber = Subscriber(id: "sbr_a", name: "Desk", timeZone: "Asia/Beirut", changedAt: noon)

    static func channel(disabled: Bool) -> DeliveryChannel {
        DeliveryChannel(id: "chn_a", subscriberID: "sbr_a", kind: .webhook, target: "https://example.com/hook",
                        status: disabled ? .disabled : .active, disabledReason: disabled ? "410 Gone" : nil,
                        consent: disabled ? .init(confirmedAt: noon, source: "confirmation link") : nil, version: 1, changedAt: noon)
    }

    /// A rule matching everything, replayed over one enriched event.
    static func preview() throws -> RulePreview {
        RulePreview(rule: try SubscriptionRule(all: true).validate(timeZone: "UTC"), budget: Budget(), events: [enriched(full: true)])
    }

    static func subscription(named: Bool) -> Subscription {
        Subscription(id: "sub_a", subscriberID: "sbr_a", name: named ? "Quakes" : nil, rule: SubscriptionRule(all: true), changedAt: noon)
    }
}
