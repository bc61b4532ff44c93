/// How a rule's matches reach the subscriber: one alert each, or collected into a digest.
public enum DeliveryMode: Sendable, Hashable, CustomStringConvertible {
    case immediate
    case digest(DigestSchedule)

    public var description: String {
        switch self {
        case .immediate: "immediate"
        case .digest(let schedule): "\(schedule) digest"
        }
    }
}
