import Foundation
import NewsAlertCore
import Testing

/// The threader's state survives a JSON round trip and continues the same stories after a restart.
@Suite struct DedupSnapshotTests {
    @Test func restoredThreaderContinuesTheSameStories() throws {
        let enricher = try TestFixtures.enricher()
        let events = TestFixtures.breakingLinesNewestFirst().reversed().enumerated().map { index, line in
            TestFixtures.breaking("ticker-\(index + 1)", line, minutes: Double(index) * 2)
        }
        let enrichments = events.map(enricher.enrich)

        var uninterrupted = StoryThreader()
        let expected = zip(events, enrichments).map { uninterrupted.process(event: $0, enrichment: $1, now: $0.publishedAt) }

        var beforeRestart = StoryThreader()
        var decisions = zip(events, enrichments).prefix(5).map { beforeRestart.process(event: $0, enrichment: $1, now: $0.publishedAt) }
        let json = try JSONEncoder().encode(beforeRestart.snapshot)
        let snapshot = try JSONDecoder().decode(StoryIndexSnapshot.self, from: json)
        #expect(snapshot == beforeRestart.snapshot)

        var afterRestart = StoryThreader(snapshot: snapshot)
        decisions += zip(events, enrichments).dropFirst(5).map { afterRestart.process(event: $0, enrichment: $1, now: $0.publishedAt) }
        #expect(decisions == expected)

        // Redelivery after the restart (e.g. uncommitted offsets): nothing becomes a new story twice.
        let stories = afterRestart.storyCount
        for (event, enrichment) in zip(events, enrichments) {
            #expect(afterRestart.process(event: event, enrichment: enrichment, now: event.publishedAt.addingTimeInterval(600)).isDuplicate)
        }
        #expect(afterRestart.storyCount == stories)
    }

    @Test func snapshotJSONUsesSnakeCaseKeys() throws {
        let enricher = try TestFixtures.enricher()
        var threader = StoryThreader()
        let event = TestFixtures.breaking("e1", "Israeli drone targets a car in the town of Kawnin")
        _ = threader.process(event: event, enrichment: enricher.enrich(event), idempotencyKey: "offset-1", now: event.publishedAt)
        let json = String(decoding: try JSONEncoder().encode(threader.snapshot), as: UTF8.self)
        for key in ["\"story_id\"", "\"first_event_id\"", "\"exact_key\"", "\"location_countries\"", "\"idempotency_key\"", "\"seen_at\""] {
            #expect(json.contains(key), "missing \(key)")
        }
    }

    @Test func configurationRoundTrips() throws {
        let configuration = StoryThreaderConfiguration(matchWindow: 3600, joinThreshold: 0.6, quoteBurstWindow: 0)
        let decoded = try JSONDecoder().decode(StoryThreaderConfiguration.self, from: JSONEncoder().encode(configuration))
        #expect(decoded == configuration)
    }
}
