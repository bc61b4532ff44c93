import Foundation

/// The threader's whole state, for persisting and restoring across restarts.
public struct StoryIndexSnapshot: Codable, Sendable, Hashable {
    /// Format version of the snapshot.
    public static let currentVersion = 1

    public var version: Int
    /// Stories, oldest first.
    public var stories: [StoryRecord]
    /// Seen events, oldest first.
    public var seen: [SeenEvent]

    public init(version: Int = StoryIndexSnapshot.currentVersion, stories: [StoryRecord] = [], seen: [SeenEvent] = []) {
        self.version = version
        self.stories = stories
        self.seen = seen
    }
}
