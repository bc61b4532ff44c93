import Foundation

/// A message on `news.enriched` (key: story id): the newsroom's event, what enrichment added, and its story.
public struct EnrichedEvent: Codable, Sendable, Hashable {
    public var event: NewsEvent
    public var enrichment: Enrichment
    public var story: StoryAssignment
    public var enrichedAt: Date

    public init(event: NewsEvent, enrichment: Enrichment, story: StoryAssignment, enrichedAt: Date) {
        self.event = event
        self.enrichment = enrichment
        self.story = story
        self.enrichedAt = enrichedAt
    }

    enum CodingKeys: String, CodingKey {
        case event, enrichment, story
        case enrichedAt = "enriched_at"
    }
}
