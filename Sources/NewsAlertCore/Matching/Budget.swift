/// A cap on how many alerts one subscriber gets, across all of their rules.
///
/// JSON: `{"per_hour": 10, "per_day": 40, "flash_exceeds_budget": true}`; either limit may be left out.
/// The windows are rolling (the last 60 minutes, the last 24 hours) so there is no burst at local midnight.
public struct Budget: Codable, Sendable, Hashable {
    /// At most this many alerts in any 60 minutes; nil for no hourly cap.
    public var perHour: Int?
    /// At most this many alerts in any 24 hours; nil for no daily cap.
    public var perDay: Int?
    /// When true (the default), a flash (urgency 1) is sent even when the budget is used up.
    public var flashExceedsBudget: Bool

    /// No caps at all.
    public static let unlimited = Budget()

    public init(perHour: Int? = nil, perDay: Int? = nil, flashExceedsBudget: Bool = true) {
        self.perHour = perHour
        self.perDay = perDay
        self.flashExceedsBudget = flashExceedsBudget
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        perHour = try container.decodeIfPresent(Int.self, forKey: .perHour)
        perDay = try container.decodeIfPresent(Int.self, forKey: .perDay)
        flashExceedsBudget = try container.decodeIfPresent(Bool.self, forKey: .flashExceedsBudget) ?? true
    }

    /// Checks that the limits are not negative (0 is allowed: only flashes, if they may exceed the budget).
    public func validate(field: String = "budget") throws(ValidationFailure) {
        var problems: [FieldProblem] = []
        for (key, limit) in [(CodingKeys.perHour, perHour), (.perDay, perDay)] {
            if let limit, limit < 0 {
                problems.append(FieldProblem(field: "\(field).\(key.rawValue)", problem: "must be 0 or more (got \(limit))"))
            }
        }
        if !problems.isEmpty { throw ValidationFailure(problems) }
    }

    /// Why `recent` leaves no room for another alert, or nil when there is room.
    public func exhaustion(given recent: RecentDeliveries) -> String? {
        if let perHour, recent.lastHour >= perHour {
            return "hourly budget of \(perHour) alert\(perHour == 1 ? "" : "s") used (\(recent.lastHour) in the last hour)"
        }
        if let perDay, recent.lastDay >= perDay {
            return "daily budget of \(perDay) alert\(perDay == 1 ? "" : "s") used (\(recent.lastDay) in the last 24 hours)"
        }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case perHour = "per_hour"
        case perDay = "per_day"
        case flashExceedsBudget = "flash_exceeds_budget"
    }
}
