import Foundation

/// Two headlines and whether an editor would call them the same story: one line of `labelled-pairs.jsonl`.
public struct LabelledPair: Codable, Sendable, Hashable {
    public var a: String
    public var b: String
    public var sameStory: Bool
    /// How long after `a` the item `b` arrives; 5 minutes when absent.
    public var minutesApart: Double?
    /// What the pair tests.
    public var note: String?

    public init(a: String, b: String, sameStory: Bool, minutesApart: Double? = nil, note: String? = nil) {
        self.a = a
        self.b = b
        self.sameStory = sameStory
        self.minutesApart = minutesApart
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case a, b
        case sameStory = "same_story"
        case minutesApart = "minutes_apart"
        case note
    }
}
