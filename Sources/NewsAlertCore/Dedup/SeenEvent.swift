import Foundation

/// An event id the threader has processed, kept for idempotency and to find the story a correction targets.
public struct SeenEvent: Codable, Sendable, Hashable {
    public var eventId: String
    public var idempotencyKey: String?
    /// The story the event joined, or the story of the event it duplicated.
    public var storyId: String?
    public var status: NewsStatus
    public var seenAt: Date
    /// Set when the event was dropped as an exact duplicate of another.
    public var duplicateOf: String?

    public init(eventId: String, idempotencyKey: String?, storyId: String?, status: NewsStatus, seenAt: Date, duplicateOf: String? = nil) {
        self.eventId = eventId
        self.idempotencyKey = idempotencyKey
        self.storyId = storyId
        self.status = status
        self.seenAt = seenAt
        self.duplicateOf = duplicateOf
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id"
        case idempotencyKey = "idempotency_key"
        case storyId = "story_id"
        case status
        case seenAt = "seen_at"
        case duplicateOf = "duplicate_of"
    }
}
