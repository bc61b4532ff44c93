import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// `GET /v1/stories/{id}`: every event of a story with its relation, corrections, kill and alert progress.
@Suite("Story timeline")
struct StoryTimelineRoutesTests {
    typealias Harness = EventRoutesTests.Harness

    @Test("a story's events in order with relation, kill and progress; an unknown story is 404")
    func timeline() async throws {
        let harness = try await Harness()
        let database = harness.database
        let enricher = Enricher(gazetteer: try Gazetteer.load())
        var threader = StoryThreader()
        let start = Date()
        let first = NewsEvent(id: EventID.make(at: start), kind: .breaking, headline: EventPreviewRoutesTests.first, publishedAt: start)
        let update = NewsEvent(id: EventID.make(at: start + 1), kind: .breaking, headline: EventPreviewRoutesTests.update, urgency: .flash, publishedAt: start + 1)
        let kill = NewsEvent(id: EventID.make(at: start + 2), kind: .breaking, headline: first.headline, publishedAt: start + 2,
                             status: .canceled, supersedes: first.id, reason: "not confirmed")
        for (offset, event) in [first, update, kill].enumerated() {
            let received = start + Double(offset)
            try await database.recordPublishedEvent(event, at: KafkaPosition(topic: "news.events", partition: 0, offset: Int64(offset)), receivedAt: received, principal: nil)
            let enrichment = enricher.enrich(event)
            let assignment = try #require(threader.process(event: event, enrichment: enrichment, now: received).assignment)
            try await database.recordEnriched(EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: received))
        }
        var plan = FanoutPlan()
        plan.immediate = try (1...3).map { try Alert.fixture(event: update.id, channel: "chn_\($0)", subscriber: "sbr_\($0)") }
        try await database.recordFanout(plan, eventID: update.id)

        try await harness.test { client in
            let story = try await client.execute(uri: "/v1/stories/story-\(first.id)", method: .get, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .ok)
                return try EventRoutesTests.object(response.body)
            }
            #expect(story["story_id"] as? String == "story-\(first.id)")
            let events = try #require(story["events"] as? [[String: Any]])
            #expect(events.compactMap { ($0["event"] as? [String: Any])?["id"] as? String } == [first.id, update.id, kill.id])
            #expect(events.compactMap { $0["dedup"] as? String } == ["new #1 of story-\(first.id)", "update #2 of story-\(first.id)", "kill #3 of story-\(first.id)"])
            #expect(events.first?["killed"] as? Bool == true)
            let progress = try #require(events[1]["progress"] as? [String: Any])
            #expect(progress["fanned_out"] as? Bool == true)
            #expect(progress["planned"] as? Int == 3)
            #expect(progress["on_topics"] as? Int == 3)
            #expect(progress["delivered"] as? Int == 0)
            #expect((events[0]["progress"] as? [String: Any])?["fanned_out"] as? Bool == false)

            try await client.execute(uri: "/v1/stories/story-evt_unknown", method: .get, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v1/stories/story-\(first.id)", method: .get, headers: [:]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}
