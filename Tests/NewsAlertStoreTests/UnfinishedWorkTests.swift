import Foundation
import NewsAlertCore
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// What a restart on an empty embedded log puts back: each stage's journal says what it finished.
@Suite struct UnfinishedWorkTests {
    static let position = KafkaPosition(topic: "news.events", partition: 0, offset: 0)

    static func enriched(_ event: NewsEvent, story: String) -> EnrichedEvent {
        let enrichment = Enrichment(
            eventId: event.id, section: .politics, regions: [], countries: [], places: [], entities: [], urgency: .routine,
            readingTimeSeconds: nil, language: "en", source: nil, speaker: nil, headline: event.headline, text: event.headline, reasons: [])
        let assignment = StoryAssignment(
            storyId: story, sequence: 1, updateOf: nil, relation: .new, supersedes: nil, similarity: 1, addsInformation: true, because: "test")
        return EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: event.publishedAt)
    }

    @Test func eachStageTakesItsWorkOffTheListOnceItsJournalShowsItFinished() async throws {
        let database = try AppDatabase.inMemory()
        let now = Date()
        let since = now.addingTimeInterval(-AppDatabase.recoveryHorizon)
        let event = NewsEvent(id: "evt_unfinished", kind: .breaking, headline: "Harbour closed as the storm nears", publishedAt: now)
        try await database.recordPublishedEvent(event, at: Self.position, receivedAt: now, principal: nil)

        // Accepted, not enriched: the event goes back on news.events.
        var work = try await database.unfinishedWork(since: since)
        #expect(work.events.map(\.id) == ["evt_unfinished"] && work.enriched.isEmpty && work.alerts.isEmpty)
        #expect(try JSONDecoder.newsAlert.decode(NewsEvent.self, from: work.events[0].payload).headline == event.headline)

        // Enriched, not fanned out: the enriched record as published goes back on news.enriched.
        let enriched = Self.enriched(event, story: "story-evt_unfinished")
        try await database.recordEnriched(enriched)
        work = try await database.unfinishedWork(since: since)
        #expect(work.events.isEmpty && work.enriched.map(\.eventID) == ["evt_unfinished"] && work.enriched[0].storyID == "story-evt_unfinished")
        #expect(try JSONDecoder.newsAlert.decode(EnrichedEvent.self, from: work.enriched[0].record).story.storyId == "story-evt_unfinished")

        // Fanned out with one webhook alert no worker took yet: the alert goes back on its channel topic.
        let alert = try Alert.fixture(event: "evt_unfinished", channel: "chn_u")
        var plan = FanoutPlan()
        plan.immediate = [alert]
        try await database.recordFanout(plan, eventID: "evt_unfinished")
        work = try await database.unfinishedWork(since: since)
        #expect(work.events.isEmpty && work.enriched.isEmpty && work.alerts.map(\.alertID) == [alert.alertID] && work.alerts[0].channel == .webhook)

        // In the worker's queue: nothing left to put back.
        _ = try await database.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        #expect(try await database.unfinishedWork(since: since).isEmpty)
    }

    @Test func aDroppedDuplicateIsFinishedAndOldWorkIsForgotten() async throws {
        let database = try AppDatabase.inMemory()
        let now = Date()
        let copy = NewsEvent(id: "evt_copy", kind: .breaking, headline: "Copy", publishedAt: now)
        try await database.recordPublishedEvent(copy, at: Self.position, receivedAt: now, principal: nil)
        try await database.recordDuplicate(eventID: "evt_copy", kind: .exact, of: "evt_first")
        let old = NewsEvent(id: "evt_old", kind: .breaking, headline: "Old", publishedAt: now)
        try await database.recordPublishedEvent(old, at: Self.position, receivedAt: now.addingTimeInterval(-8 * 86_400), principal: nil)
        #expect(try await database.unfinishedWork(since: now.addingTimeInterval(-AppDatabase.recoveryHorizon)).isEmpty)
    }
}
