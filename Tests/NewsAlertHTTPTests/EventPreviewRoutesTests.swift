import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// `POST /v1/events/preview`: enrichment, threading and audience of an event not yet posted, with no side effect.
@Suite("Event preview")
struct EventPreviewRoutesTests {
    /// The desks' addresses were confirmed by their owners (no alert goes to an unconfirmed one).
    static let consent = DeliveryChannel.Consent(confirmedAt: Date(timeIntervalSince1970: 1_700_000_000), source: "confirmation link")
    typealias Harness = EventRoutesTests.Harness

    static let first = "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin"
    static let update = "Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car in the town of Kawnin"

    static func preview(_ client: any TestClientProtocol, _ harness: Harness, _ body: [String: Any], idempotencyKey: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.execute(uri: "/v1/events/preview", method: .post, headers: EventRoutesTests.headers(harness.editor, idempotencyKey: idempotencyKey),
                                        body: ByteBuffer(bytes: data)) { response in
            (response.status, try EventRoutesTests.object(response.body))
        }
    }

    /// What the enrich stage leaves on a node that threaded `headline` as the first line of its story.
    static func seedStory(_ database: AppDatabase, headline: String) async throws -> String {
        let enricher = Enricher(gazetteer: try Gazetteer.load())
        let received = Date()
        let event = NewsEvent(id: EventID.make(at: received), kind: .breaking, headline: headline, publishedAt: received)
        var threader = StoryThreader()
        let enrichment = enricher.enrich(event)
        let assignment = try #require(threader.process(event: event, enrichment: enrichment, now: received).assignment)
        try await database.saveStoryIndex(threader.snapshot)
        try await database.recordPublishedEvent(event, at: KafkaPosition(topic: "news.events", partition: 0, offset: 0), receivedAt: received, principal: nil)
        try await database.recordEnriched(EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: received))
        return event.id
    }

    static func rowCount(_ database: AppDatabase, _ table: String) async throws -> Int {
        try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }

    @Test("an invalid body answers 422 naming every bad field, and stores nothing")
    func invalidBody() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let (status, answer) = try await Self.preview(client, harness, ["kind": "flash", "urgency": 12, "story_override": "yesterday", "colour": "red"], idempotencyKey: "p-1")
            #expect(status == .unprocessableContent)
            let error = try #require(answer["error"] as? [String: Any])
            #expect(error["code"] as? String == "invalid_fields")
            let fields = Set((error["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(fields == ["kind", "headline", "urgency", "story_override", "colour"])
            // An Idempotency-Key is ignored: a preview is never replayed, nor claims the key.
            let (valid, _) = try await Self.preview(client, harness, ["kind": "breaking", "headline": "Explosion heard in central Damascus"], idempotencyKey: "p-1")
            #expect(valid == .ok)
            try await client.execute(uri: "/v1/events/preview", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unauthorized)
            }
        }
        #expect(try await Self.rowCount(harness.database, "idempotency_record") == 0)
        #expect(try await Self.rowCount(harness.database, "news_event") == 0)
    }

    @Test("a new line: the enrichment with reasons, a new story, and the subscribers it reaches now by channel")
    func newStoryAndAudience() async throws {
        let harness = try await Harness()
        let database = harness.database
        // Two subscribers on MENA: one gets it by webhook and email now, the other in a digest; one on Sports gets nothing.
        let now = try await database.createSubscriber(name: "Beirut desk", timeZone: "Asia/Beirut", budget: .unlimited)
        _ = try await database.createChannel(subscriberID: now.id, kind: .webhook, target: "https://example.com/hook", secrets: ["whsec_AAAA"])
        _ = try await database.createChannel(subscriberID: now.id, kind: .email, target: "desk@example.com", secrets: [], consent: Self.consent)
        _ = try await database.createSubscription(subscriberID: now.id, name: nil, rule: try SubscriptionRule.decode(from: Data(#"{"regions": ["MENA"]}"#.utf8)))
        let later = try await database.createSubscriber(name: "Morning reader", timeZone: "Europe/Berlin", budget: .unlimited)
        _ = try await database.createChannel(subscriberID: later.id, kind: .email, target: "reader@example.com", secrets: [], consent: Self.consent)
        _ = try await database.createSubscription(subscriberID: later.id, name: nil,
            rule: try SubscriptionRule.decode(from: Data(#"{"regions": ["MENA"], "delivery": {"mode": "digest", "every": "daily", "at": "08:00"}}"#.utf8)))
        let sports = try await database.createSubscriber(name: "Sports fan", timeZone: "Europe/London", budget: .unlimited)
        _ = try await database.createChannel(subscriberID: sports.id, kind: .email, target: "fan@example.com", secrets: [], consent: Self.consent)
        _ = try await database.createSubscription(subscriberID: sports.id, name: nil, rule: try SubscriptionRule.decode(from: Data(#"{"sections": ["Sports"]}"#.utf8)))

        try await harness.test { client in
            let (status, answer) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.first])
            #expect(status == .ok)
            let enrichment = try #require(answer["enrichment"] as? [String: Any])
            #expect(enrichment["countries"] as? [String] == ["LB", "IL"], "South Lebanon, and \"Israeli\"")
            #expect((enrichment["regions"] as? [String])?.contains("MENA") == true)
            let reasons = enrichment["reasons"] as? [[String: Any]] ?? []
            #expect(reasons.contains { $0["field"] as? String == "regions" && $0["value"] as? String == "MENA" })
            #expect(reasons.contains { $0["field"] as? String == "section" })
            #expect(reasons.contains { $0["field"] as? String == "urgency" })
            let dedup = try #require(answer["dedup"] as? [String: Any])
            #expect(dedup["decision"] as? String == "new_story")
            #expect(dedup["story_id"] is NSNull)
            #expect((dedup["story_lines"] as? [Any])?.isEmpty == true)
            let audience = try #require(answer["audience"] as? [String: Any])
            #expect(audience["subscribers_now"] as? Int == 1)
            #expect(audience["channels_now"] as? Int == 2)
            #expect(audience["subscribers_matched"] as? Int == 2)
            #expect(audience["ticker_readers"] as? Int == 0)
            let byChannel = try #require(audience["by_channel"] as? [String: [String: Int]])
            #expect(byChannel["webhook"] == ["now": 1, "held_quiet_hours": 0, "held_digest": 0, "dropped_budget": 0])
            #expect(byChannel["email"] == ["now": 1, "held_quiet_hours": 0, "held_digest": 1, "dropped_budget": 0])
            #expect(byChannel["ticker"] == ["now": 0, "held_quiet_hours": 0, "held_digest": 0, "dropped_budget": 0])
            // Overrides: the newsroom's section and urgency win, with the reason saying so; a region it adds is kept.
            let (_, overridden) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.first, "section": "Economy", "urgency": 1, "regions": ["Europe"]])
            let tags = try #require(overridden["enrichment"] as? [String: Any])
            #expect(tags["section"] as? String == "Economy")
            #expect(tags["urgency"] as? Int == 1)
            #expect((tags["regions"] as? [String])?.first == "Europe")
            let newsroom = (tags["reasons"] as? [[String: Any]] ?? []).filter { $0["because"] as? String == "set by the newsroom" }.compactMap { $0["field"] as? String }
            #expect(Set(newsroom) == ["section", "urgency", "regions"])
        }
        #expect(try await Self.rowCount(database, "news_event") == 0)
        #expect(try await Self.rowCount(database, "recent_enriched") == 0)
        #expect(try await Self.rowCount(database, "delivery") == 0)
    }

    @Test("a line that updates a story shows the story and its earlier line; overrides force a new story or name the story")
    func updateOfAStory() async throws {
        let harness = try await Harness()
        let firstID = try await Self.seedStory(harness.database, headline: Self.first)
        let storyID = "story-" + firstID
        let indexBefore = try await harness.database.loadStoryIndex()
        try await harness.test { client in
            let (status, answer) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.update])
            #expect(status == .ok)
            let dedup = try #require(answer["dedup"] as? [String: Any])
            #expect(dedup["decision"] as? String == "update")
            #expect(dedup["story_id"] as? String == storyID)
            #expect(dedup["update_of"] as? String == firstID)
            let similarity = try #require(dedup["similarity"] as? Double)
            #expect(similarity >= 0.47 && similarity <= 1)
            #expect((dedup["because"] as? String)?.contains(firstID) == true)
            #expect(dedup["adds_information"] as? Bool == true)
            #expect((dedup["new_information"] as? [String])?.contains("number 1") == true)
            let lines = dedup["story_lines"] as? [[String: Any]] ?? []
            #expect(lines.count == 1)
            #expect(lines.first?["headline"] as? String == Self.first)
            #expect(lines.first?["event_id"] as? String == firstID)

            let (_, forcedNew) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.update, "story_override": "new"])
            #expect((forcedNew["dedup"] as? [String: Any])?["decision"] as? String == "new_story")
            #expect((forcedNew["dedup"] as? [String: Any])?["because"] as? String == "the newsroom asked for a new story")

            let (_, forcedUpdate) = try await Self.preview(client, harness, ["kind": "breaking", "headline": "Explosion heard in central Damascus", "story_override": storyID])
            let forced = try #require(forcedUpdate["dedup"] as? [String: Any])
            #expect(forced["decision"] as? String == "update")
            #expect(forced["story_id"] as? String == storyID)

            let (duplicateStatus, duplicate) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.first])
            #expect(duplicateStatus == .ok)
            let repeated = try #require(duplicate["dedup"] as? [String: Any])
            #expect(repeated["decision"] as? String == "duplicate")
            #expect(repeated["duplicate_kind"] as? String == "exact")
            #expect(repeated["duplicate_of"] as? String == firstID)
            #expect(repeated["story_id"] as? String == storyID)
            #expect((duplicate["audience"] as? [String: Any])?["subscribers_matched"] as? Int == 0)

            let (unknownStatus, unknown) = try await Self.preview(client, harness, ["kind": "breaking", "headline": Self.update, "story_override": "story-evt_00000000000000000000000000"])
            #expect(unknownStatus == .unprocessableContent)
            #expect(try EventRoutesTests.fieldNames(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: unknown))) == ["story_override"])
        }
        #expect(try await harness.database.loadStoryIndex() == indexBefore, "a preview leaves the story index alone")
        #expect(try await Self.rowCount(harness.database, "news_event") == 1)
    }

    @Test("posting honours the override: a known story or new is published with it, an unknown story is 422")
    func postWithOverride() async throws {
        let harness = try await Harness()
        let firstID = try await Self.seedStory(harness.database, headline: Self.first)
        try await harness.test { client in
            for (override, expected) in [("new", HTTPResponse.Status.accepted), ("story-" + firstID, .accepted), ("story-evt_unknown", .unprocessableContent)] {
                let body = try JSONSerialization.data(withJSONObject: ["kind": "breaking", "headline": Self.update, "story_override": override])
                try await client.execute(uri: "/v1/events", method: .post, headers: EventRoutesTests.headers(harness.editor), body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == expected, "\(override)")
                    if expected == .accepted {
                        let id = try #require(try EventRoutesTests.object(response.body)["id"] as? String)
                        let logged = try #require(try await harness.database.eventLogEntry(id: id))
                        #expect(logged.event.storyOverride?.description == override)
                    } else {
                        #expect(try EventRoutesTests.fieldNames(response.body) == ["story_override"])
                    }
                }
            }
        }
        #expect(try await Self.rowCount(harness.database, "news_event") == 3)
    }
}

extension EventPreviewRoutesTests {
    @Test("a preview follows the story index the enrich stage saves next, not the copy it kept")
    func followsTheNextSavedIndex() async throws {
        let harness = try await Harness()
        _ = try await Self.seedStory(harness.database, headline: Self.first)
        try await harness.test { client in
            let (_, before) = try await Self.preview(client, harness, ["kind": "breaking", "headline": "Explosion heard in central Damascus, witnesses say"])
            #expect((before["dedup"] as? [String: Any])?["decision"] as? String == "new_story")
            // Enrich saves an index that now holds a Damascus story.
            try await Task.sleep(for: .milliseconds(5))
            let damascus = try await Self.seedStory(harness.database, headline: "Explosion heard in central Damascus")
            let (_, after) = try await Self.preview(client, harness, ["kind": "breaking", "headline": "Explosion heard in central Damascus, witnesses say"])
            let dedup = try #require(after["dedup"] as? [String: Any])
            #expect(dedup["decision"] as? String == "update")
            #expect(dedup["story_id"] as? String == "story-" + damascus)
        }
    }
}
