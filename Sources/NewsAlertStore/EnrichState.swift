import Foundation
import GRDB
import NewsAlertCore

extension AppDatabase {
    /// The enrich stage's persisted story index, if it ever saved one: one row per story and per seen event
    /// (written incrementally by `saveStoryIndex(_:since:)`), oldest first as `StoryIndexSnapshot` keeps them.
    public func loadStoryIndex() async throws -> StoryIndexSnapshot? {
        try await writer.read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM story_index WHERE id = 1") == true else { return nil }
            let decoder = JSONDecoder.newsAlert
            let stories = try Data.fetchAll(db, sql: "SELECT record FROM story_index_story").map { try decoder.decode(StoryRecord.self, from: $0) }
            let seen = try Data.fetchAll(db, sql: "SELECT record FROM story_index_seen").map { try decoder.decode(SeenEvent.self, from: $0) }
            return StoryIndexSnapshot(
                stories: stories.sorted { ($0.createdAt, $0.storyId) < ($1.createdAt, $1.storyId) },
                seen: seen.sorted { ($0.seenAt, $0.eventId) < ($1.seenAt, $1.eventId) })
        }
    }

    /// When the enrich stage last saved its story index (nil if it never did): readers keep a decoded copy until it changes.
    public func storyIndexSavedAt() async throws -> Date? {
        try await writer.read { db in try Date.fetchOne(db, sql: "SELECT updated_at FROM story_index WHERE id = 1") }
    }

    /// Saves the enrich stage's story index. With `previous`, the index as last saved, only the stories and seen
    /// events that changed, appeared or went are written, so a checkpoint costs what changed since the last one,
    /// not the size of the whole index; without it, the index is replaced whole.
    public func saveStoryIndex(_ storyIndex: StoryIndexSnapshot, since previous: StoryIndexSnapshot? = nil) async throws {
        let stories = try Self.changes(from: previous?.stories, to: storyIndex.stories, key: \.storyId)
        let seen = try Self.changes(from: previous?.seen, to: storyIndex.seen, key: \.eventId)
        try await writer.write { db in
            if previous == nil {
                try db.execute(sql: "DELETE FROM story_index_story")
                try db.execute(sql: "DELETE FROM story_index_seen")
            }
            for (table, column, changes) in [("story_index_story", "story_id", stories), ("story_index_seen", "event_id", seen)] {
                for (key, record) in changes.written {
                    try db.execute(sql: "INSERT OR REPLACE INTO \(table) (\(column), record) VALUES (?, ?)", arguments: [key, record])
                }
                for key in changes.removed {
                    try db.execute(sql: "DELETE FROM \(table) WHERE \(column) = ?", arguments: [key])
                }
            }
            try db.execute(
                sql: "INSERT INTO story_index (id, snapshot, updated_at) VALUES (1, X'', ?) ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at",
                arguments: [Date()])
        }
    }

    /// The encoded entries of `current` that differ from `previous` (all of them without one), and the keys that went.
    private static func changes<Entry: Encodable & Equatable>(
        from previous: [Entry]?, to current: [Entry], key: KeyPath<Entry, String>
    ) throws -> (written: [(String, Data)], removed: [String]) {
        let before = Dictionary((previous ?? []).map { ($0[keyPath: key], $0) }, uniquingKeysWith: { _, last in last })
        let encoder = JSONEncoder.newsAlert
        var written: [(String, Data)] = []
        var kept = Set<String>()
        for entry in current {
            let id = entry[keyPath: key]
            kept.insert(id)
            if before[id] != entry { written.append((id, try encoder.encode(entry))) }
        }
        return (written, before.keys.filter { !kept.contains($0) })
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
