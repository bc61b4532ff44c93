import Foundation
import GRDB
import NewsAlertCore

/// One line of a story as the newsroom console shows it next to a preview.
public struct StoryLine: Codable, Sendable, Hashable {
    public var eventID: String
    public var headline: String
    public var at: Date

    public init(eventID: String, headline: String, at: Date) {
        self.eventID = eventID
        self.headline = headline
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case headline, at
    }
}

extension AppDatabase {
    /// The newest lines of a story, newest first: from the event log where the enrich stage noted the story,
    /// else from the enriched events kept for previews (a node whose enrich stage writes elsewhere).
    public func storyLines(storyID: String, limit: Int) async throws -> [StoryLine] {
        try await writer.read { db in
            let logged = try Row.fetchAll(
                db, sql: "SELECT payload, received_at FROM news_event WHERE story_id = ? ORDER BY received_at DESC, id DESC LIMIT ?",
                arguments: [storyID, limit]
            ).map { row in
                let event = try JSONDecoder.newsAlert.decode(NewsEvent.self, from: row["payload"] as Data)
                return StoryLine(eventID: event.id, headline: event.headline, at: row["received_at"])
            }
            if !logged.isEmpty { return logged }
            return try Data.fetchAll(
                db, sql: "SELECT payload FROM recent_enriched WHERE json_extract(payload, '$.story.story_id') = ? ORDER BY enriched_at DESC, event_id DESC LIMIT ?",
                arguments: [storyID, limit]
            ).map { data in
                let enriched = try JSONDecoder.newsAlert.decode(EnrichedEvent.self, from: data)
                return StoryLine(eventID: enriched.event.id, headline: enriched.event.headline, at: enriched.enrichedAt)
            }
        }
    }

    /// The story an earlier event joined (or duplicated), if this node knows it.
    public func storyID(ofEvent eventID: String) async throws -> String? {
        try await writer.read { db in
            if let logged = try String.fetchOne(db, sql: "SELECT story_id FROM news_event WHERE id = ?", arguments: [eventID]) { return logged }
            return try String.fetchOne(db, sql: "SELECT json_extract(payload, '$.story.story_id') FROM recent_enriched WHERE event_id = ?", arguments: [eventID])
        }
    }
}
