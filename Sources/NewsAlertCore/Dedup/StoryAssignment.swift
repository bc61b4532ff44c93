import Foundation

/// Where an accepted event goes: which story, its place in it, and what it adds.
public struct StoryAssignment: Codable, Sendable, Hashable {
    /// Deterministic: "story-" followed by the id of the story's first event.
    public var storyId: String
    /// 1 for a story's first event, then 2, 3, …
    public var sequence: Int
    /// The previous event of the story, nil for the first.
    public var updateOf: String?
    public var relation: StoryRelation
    /// The event a correction or kill replaces.
    public var supersedes: String?
    /// Similarity to the closest earlier event of the story (1 for a new story or an explicit supersede).
    public var similarity: Double
    /// True when the event brings something the story did not have: numbers, places, people, facts or new wording.
    public var addsInformation: Bool
    /// What is new, e.g. "number 1", "fact killed", "place Jwayya".
    public var newInformation: [String]
    /// Why the event was put in this story.
    public var because: String

    public init(
        storyId: String, sequence: Int, updateOf: String?, relation: StoryRelation, supersedes: String? = nil,
        similarity: Double, addsInformation: Bool, newInformation: [String] = [], because: String
    ) {
        self.storyId = storyId
        self.sequence = sequence
        self.updateOf = updateOf
        self.relation = relation
        self.supersedes = supersedes
        self.similarity = similarity
        self.addsInformation = addsInformation
        self.newInformation = newInformation
        self.because = because
    }

    enum CodingKeys: String, CodingKey {
        case storyId = "story_id"
        case sequence
        case updateOf = "update_of"
        case relation, supersedes, similarity
        case addsInformation = "adds_information"
        case newInformation = "new_information"
        case because
    }
}
