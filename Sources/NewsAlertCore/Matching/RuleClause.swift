/// A clause of a subscription rule, named as its JSON field.
public enum RuleClause: String, Codable, Sendable, CaseIterable {
    case all, sections, regions, countries, tags, entities, kinds, keywords
    case maxUrgency = "max_urgency"
}
