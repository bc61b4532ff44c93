import Foundation

/// An editor's decision about threading that the enrich stage follows instead of its own similarity test.
///
/// Encoded as one string: `"new"` or the story id to join (`"story-evt_…"`).
public enum StoryOverride: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Start a new story, whatever the line resembles.
    case newStory
    /// Join this story as an update, if it is still in the index.
    case updateOf(storyID: String)

    /// Parses `"new"` or a story id; nil for anything else.
    public init?(text: String) {
        if text == "new" {
            self = .newStory
        } else if text.hasPrefix("story-"), EventID.isPlausible(String(text.dropFirst("story-".count))) {
            self = .updateOf(storyID: text)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .newStory: "new"
        case .updateOf(let storyID): storyID
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let override = StoryOverride(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "story_override must be \"new\" or a story id"))
        }
        self = override
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
