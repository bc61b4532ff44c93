import Foundation
import GRDB
import NewsAlertCore

extension AppDatabase {
    /// The enrich stage's persisted story index, if it ever saved one.
    public func loadStoryIndex() async throws -> StoryIndexSnapshot? {
        let data = try await writer.read { db in try Data.fetchOne(db, sql: "SELECT snapshot FROM story_index WHERE id = 1") }
        return try data.map { try JSONDecoder.newsAlert.decode(StoryIndexSnapshot.self, from: $0) }
    }

    /// When the enrich stage last saved its story index (nil if it never did): readers keep a decoded copy until it changes.
    public func storyIndexSavedAt() async throws -> Date? {
        try await writer.read { db in try Date.fetchOne(db, sql: "SELECT updated_at FROM story_index WHERE id = 1") }
    }

    /// Saves the enrich stage's story index, replacing the previous one.
    public func saveStoryIndex(_ storyIndex: StoryIndexSnapshot) async throws {
        let snapshot = try JSONEncoder.newsAlert.encode(storyIndex)
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO story_index (id, snapshot, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
                arguments: [snapshot, Date()])
        }
    }

    /// Records what became of an event the newsroom published: its enrichment and story.
    public func recordEnriched(_ enriched: EnrichedEvent) async throws {
        let enrichment = try JSONEncoder.newsAlert.encode(enriched.enrichment)
        let outcome = "\(enriched.story.relation.rawValue) #\(enriched.story.sequence) of \(enriched.story.storyId)"
        let record = try JSONEncoder.newsAlert.encode(enriched)
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE news_event SET story_id = ?, enrichment = ?, dedup_outcome = ? WHERE id = ?",
                arguments: [enriched.story.storyId, enrichment, outcome, enriched.event.id])
            try db.execute(
                sql: "INSERT OR REPLACE INTO enrich_journal (event_id, story_id, record, at) VALUES (?, ?, ?, ?)",
                arguments: [enriched.event.id, enriched.story.storyId, record, Date()])
        }
    }

    /// Notes that an event was dropped as a duplicate of another. A redelivery of the same event
    /// (its own duplicate) leaves the record of what first happened to it alone.
    public func recordDuplicate(eventID: String, kind: DuplicateKind, of original: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO enrich_journal (event_id, at) VALUES (?, ?)", arguments: [eventID, Date()])
            guard eventID != original else { return }
            try db.execute(sql: "UPDATE news_event SET dedup_outcome = ? WHERE id = ?", arguments: ["duplicate (\(kind.rawValue)) of \(original)", eventID])
        }
    }
}
