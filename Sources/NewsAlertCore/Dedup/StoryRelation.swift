import Foundation

/// How an accepted event relates to its story.
public enum StoryRelation: String, Codable, Sendable, Hashable, CaseIterable {
    /// The first event of a new story.
    case new
    /// A later report of the same story.
    case update
    /// A correction of an earlier event (it names the event in `supersedes`).
    case correction
    /// A kill: the newsroom withdrew an earlier event (status canceled).
    case kill
}
