import Foundation
import GRDB
import NewsAlertCore
@testable import NewsAlertStore
import Testing

/// The event log outlives the Kafka log it points into.
@Suite struct EventLogTests {
    static func event(_ id: String) -> NewsEvent {
        NewsEvent(id: id, kind: .breaking, headline: "Line \(id)", publishedAt: Date.storeNow)
    }

    @Test func anEventAtAPositionAnEarlierLogUsedIsRecorded() async throws {
        let database = try AppDatabase.inMemory()
        let position = KafkaPosition(topic: "news.events", partition: 2, offset: 0)
        try await database.recordPublishedEvent(Self.event("evt_before"), at: position, receivedAt: Date(), principal: nil)
        // The broker restarted with an empty log: the next event is stored at the same position again.
        try await database.recordPublishedEvent(Self.event("evt_after"), at: position, receivedAt: Date(), principal: nil)
        #expect(try await database.eventLogEntry(id: "evt_before")?.kafka == position)
        #expect(try await database.eventLogEntry(id: "evt_after")?.kafka == position)
    }

    @Test func publishingARecordedEventAgainKeepsTheFirstRecord() async throws {
        let database = try AppDatabase.inMemory()
        let first = KafkaPosition(topic: "news.events", partition: 2, offset: 7)
        try await database.recordPublishedEvent(Self.event("evt_once"), at: first, receivedAt: Date(), principal: nil)
        try await database.recordPublishedEvent(Self.event("evt_once"), at: KafkaPosition(topic: "news.events", partition: 2, offset: 9), receivedAt: Date(), principal: nil)
        #expect(try await database.eventLogEntry(id: "evt_once")?.kafka == first)
    }

    @Test func theMigrationKeepsEveryRecordedEvent() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v6: deleted entities")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO news_event (id, payload, kind, status, topic, partition, "offset", received_at, story_id, dedup_outcome)
                VALUES ('evt_old', ?, 'breaking', 'usable', 'news.events', 0, 7, ?, 'story-evt_old', 'new story')
                """, arguments: [try JSONEncoder.newsAlert.encode(Self.event("evt_old")), Date()])
        }
        let database = try AppDatabase(queue)
        let entry = try #require(try await database.eventLogEntry(id: "evt_old"))
        #expect(entry.kafka == KafkaPosition(topic: "news.events", partition: 0, offset: 7))
        #expect(entry.storyID == "story-evt_old")
        #expect(entry.dedupOutcome == "new story")
    }
}
