import Foundation

/// The outcome of threading one event: dropped as a duplicate, or accepted into a story.
public enum DedupDecision: Sendable, Hashable {
    /// Drop the event: it repeats `of` (an event id).
    case duplicate(DuplicateKind, of: String)
    /// Keep the event, in the given story.
    case accepted(StoryAssignment)

    /// The story assignment of an accepted event.
    public var assignment: StoryAssignment? {
        guard case let .accepted(assignment) = self else { return nil }
        return assignment
    }

    /// True for duplicates.
    public var isDuplicate: Bool { assignment == nil }
}
