/// One clause of a rule and what in the event satisfied it, e.g. `regions: MENA` or `keywords: "drone strike"`.
public struct MatchReason: Codable, Sendable, Hashable, CustomStringConvertible {
    public var clause: RuleClause
    /// The event's value (section, region, country code, tag, entity), the query's word or phrase, or for
    /// `max_urgency` the comparison ("2 ≤ 3").
    public var value: String

    public init(clause: RuleClause, value: String) {
        self.clause = clause
        self.value = value
    }

    public var description: String { "\(clause.rawValue): \(value)" }
}
