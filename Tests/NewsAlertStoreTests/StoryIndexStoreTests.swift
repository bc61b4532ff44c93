import Foundation
import GRDB
import NewsAlertCore
@testable import NewsAlertStore
import Testing

/// The enrich stage's story index: saved a row per story and per seen event, each checkpoint writing what changed.
@Suite struct StoryIndexStoreTests {
    /// A threader that saw `headlines`, one a minute from `start`.
    static func threaded(_ headlines: [String], into threader: inout StoryThreader, start: Date) {
        let enricher = Enricher(gazetteer: try! Gazetteer.load())
        for (index, headline) in headlines.enumerated() {
            let at = start.addingTimeInterval(Double(index) * 60)
            let event = NewsEvent(id: EventID.make(at: at), kind: .breaking, headline: headline, publishedAt: at)
            _ = threader.process(event: event, enrichment: enricher.enrich(event), now: at)
        }
    }

    static func rows(_ database: AppDatabase, _ table: String) async throws -> Int {
        try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    @Test func checkpointsWriteWhatChangedAndLoadTheLatestIndex() async throws {
        let database = try AppDatabase.inMemory()
        #expect(try await database.loadStoryIndex() == nil)
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var threader = StoryThreader()
        Self.threaded(["Israeli drone targets a car in the town of Kawnin", "Earthquake of magnitude 6.1 strikes off Crete"], into: &threader, start: start)
        let first = threader.snapshot
        try await database.saveStoryIndex(first)
        #expect(try await database.loadStoryIndex() == first)

        // An update of the first story and a new story: the checkpoint since `first` leaves the index equal to the threader's.
        Self.threaded(["One martyred in Israeli drone strike on a car in Kawnin", "Floods sweep through Valencia"], into: &threader, start: start.addingTimeInterval(600))
        let second = threader.snapshot
        try await database.saveStoryIndex(second, since: first)
        #expect(try await database.loadStoryIndex() == second)
        #expect(try await Self.rows(database, "story_index_story") == second.stories.count)
        #expect(try await Self.rows(database, "story_index_seen") == second.seen.count)

        // Stories pruned from the index (here: a fresh one with one story) are deleted by the next checkpoint.
        var fresh = StoryThreader()
        Self.threaded(["Power cut across Beirut"], into: &fresh, start: start.addingTimeInterval(1200))
        try await database.saveStoryIndex(fresh.snapshot, since: second)
        #expect(try await database.loadStoryIndex() == fresh.snapshot)
        #expect(try await Self.rows(database, "story_index_story") == 1)
    }

    @Test func anIndexSavedWholeByAnEarlierVersionBecomesRows() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v14: the event log by story, for story timelines")
        var threader = StoryThreader()
        Self.threaded(["Israeli drone targets a car in the town of Kawnin", "One martyred in Israeli drone strike on a car in Kawnin"],
                      into: &threader, start: Date(timeIntervalSince1970: 1_780_000_000))
        let snapshot = threader.snapshot
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO story_index (id, snapshot, updated_at) VALUES (1, ?, ?)",
                           arguments: [try JSONEncoder.newsAlert.encode(snapshot), Date()])
        }
        let database = try AppDatabase(queue)
        #expect(try await database.loadStoryIndex() == snapshot)
    }
}
