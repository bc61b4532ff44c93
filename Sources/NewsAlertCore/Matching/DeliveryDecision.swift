import Foundation

/// What to do with one match for one subscriber, with a reason a person can read.
public enum DeliveryDecision: Sendable, Hashable, CustomStringConvertible {
    /// Send it now.
    case now
    /// Keep it until the given instant (end of quiet hours, next digest), then plan it again.
    case holdUntil(Date, reason: String)
    /// Do not send it (the subscriber's budget is used up).
    case drop(reason: String)

    public var description: String {
        switch self {
        case .now: "send now"
        case .holdUntil(let date, let reason): "hold until \(RFC3339.format(date)): \(reason)"
        case .drop(let reason): "drop: \(reason)"
        }
    }
}
