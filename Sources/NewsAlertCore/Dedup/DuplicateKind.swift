import Foundation

/// Why an event was dropped as a duplicate.
public enum DuplicateKind: String, Codable, Sendable, Hashable {
    /// The same event id or idempotency key was seen before (a redelivery).
    case idempotent
    /// The same folded text (attribution stripped) was seen within the match window.
    case exact
}
