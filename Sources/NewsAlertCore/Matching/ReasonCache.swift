/// Single-reason explanations shared between the matches of one event.
///
/// Most matches have exactly one reason, and thousands of them the same one ("sections: Politics"); sharing one
/// array per (clause, event value) turns an allocation per match into a reference count increment.
struct ReasonCache {
    /// Event values per clause beyond which explanations are built afresh instead of cached.
    private static let positions = 32
    private static let clauses = RuleClause.allCases
    private var lists: [[MatchReason]?] = Array(repeating: nil, count: clauses.count * positions)

    /// The one-reason list for the event value at `position` of `clause`'s list, built once.
    mutating func single(_ clause: RuleClause, position: Int, value: String) -> [MatchReason] {
        guard position < Self.positions, let clauseIndex = Self.clauses.firstIndex(of: clause) else {
            return [MatchReason(clause: clause, value: value)]
        }
        let slot = clauseIndex * Self.positions + position
        if let cached = lists[slot] { return cached }
        let list = [MatchReason(clause: clause, value: value)]
        lists[slot] = list
        return list
    }
}
