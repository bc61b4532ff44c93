import Foundation

extension SubscriptionRule {
    /// Most values one list clause may hold.
    public static let maxListValues = 64
    /// Longest tag, entity or channel id, in characters.
    public static let maxValueCharacters = 128

    /// Checks every field and returns the typed rule, or throws with one problem per bad field.
    ///
    /// - Parameter timeZone: the subscriber's IANA zone (`Europe/Berlin`); reported as `time_zone` when unknown.
    /// Fields are named as in JSON, list items by index (`countries[1]`), nested fields dotted (`quiet_hours.start`).
    public func validate(timeZone: String) throws(ValidationFailure) -> ValidatedRule {
        var reader = RuleFieldReader()
        let zone = TimeZone(identifier: timeZone)
        if zone == nil {
            reader.report("time_zone", "must be an IANA time zone such as Europe/Berlin (got '\(timeZone)')")
        }
        let sections = reader.names("sections", sections, NewsSection.self)
        let regions = reader.names("regions", regions, NewsRegion.self)
        let kinds = reader.names("kinds", kinds, NewsKind.self)
        let countries = reader.list("countries", countries, problem: "must be an ISO 3166-1 alpha-2 code such as LB or US") { code in
            code.count == 2 && code.unicodeScalars.allSatisfy { $0.isASCII && CharacterSet.letters.contains($0) } ? code.uppercased() : nil
        }
        let tags = reader.texts("tags", tags)
        let entities = reader.texts("entities", entities)
        let query = reader.keywords(keywords)
        let urgency = reader.maxUrgency(maxUrgency)
        checkClauses(&reader)
        let quiet = reader.quietHours(quietHours)
        let mode = reader.delivery(delivery)
        let channels = reader.texts("channels", channels, maxCount: 16)
        guard reader.problems.isEmpty, let zone else { throw ValidationFailure(reader.problems) }
        let criteria = MatchCriteria(
            matchesEverything: all == true, sections: sections ?? [], regions: regions ?? [], countries: countries ?? [],
            tags: tags ?? [], entities: entities ?? [], kinds: kinds ?? [], keywords: query, maxUrgency: urgency)
        return ValidatedRule(criteria: criteria, quietHours: quiet, delivery: mode, channels: channels ?? [], timeZone: zone)
    }

    /// Names of the matching clauses this rule gives, present even when invalid.
    private var givenClauses: [String] {
        let clauses: [(RuleClause, Bool)] = [
            (.sections, sections != nil), (.regions, regions != nil), (.countries, countries != nil), (.tags, tags != nil),
            (.entities, entities != nil), (.kinds, kinds != nil), (.keywords, keywords != nil), (.maxUrgency, maxUrgency != nil),
        ]
        return clauses.filter(\.1).map(\.0.rawValue)
    }

    /// `all: true` stands alone; without it at least one clause is needed.
    private func checkClauses(_ reader: inout RuleFieldReader) {
        let given = givenClauses
        if all == true, !given.isEmpty {
            reader.report("all", "true matches every event and cannot be combined with \(given.joined(separator: ", ")); remove one or the other")
        } else if all != true, given.isEmpty {
            reader.report("all", "the rule has no clauses; give at least one of sections, regions, countries, tags, entities, kinds, keywords, max_urgency, or set all to true to match every event")
        }
    }
}

/// Validates a rule's fields one by one, recording a `FieldProblem` for each bad one.
private struct RuleFieldReader {
    var problems: [FieldProblem] = []

    mutating func report(_ field: String, _ problem: String) {
        problems.append(FieldProblem(field: field, problem: problem))
    }

    /// A list clause: nil when absent, non-empty and duplicate-free when present; bad items reported by index.
    mutating func list<Value: Equatable>(
        _ field: String, _ raw: [String]?, maxCount: Int = SubscriptionRule.maxListValues, problem: String, parse: (String) -> Value?
    ) -> [Value]? {
        guard let raw else { return nil }
        guard !raw.isEmpty else {
            report(field, "must not be empty; leave it out to place no condition")
            return nil
        }
        guard raw.count <= maxCount else {
            report(field, "must have at most \(maxCount) values (got \(raw.count))")
            return nil
        }
        var values: [Value] = []
        for (index, text) in raw.enumerated() {
            guard let value = parse(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                report("\(field)[\(index)]", problem)
                continue
            }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }

    /// A list of the publication's names, matched case-insensitively.
    mutating func names<Value: RawRepresentable & CaseIterable & Equatable>(_ field: String, _ raw: [String]?, _ type: Value.Type) -> [Value]? where Value.RawValue == String {
        let known = Value.allCases.map(\.rawValue).joined(separator: ", ")
        return list(field, raw, problem: "must be one of \(known)") { text in
            Value.allCases.first { $0.rawValue.caseInsensitiveCompare(text) == .orderedSame }
        }
    }

    /// Free strings: trimmed, 1…128 characters, with at least one letter or digit.
    mutating func texts(_ field: String, _ raw: [String]?, maxCount: Int = SubscriptionRule.maxListValues) -> [String]? {
        let limit = SubscriptionRule.maxValueCharacters
        return list(field, raw, maxCount: maxCount, problem: "must be 1 to \(limit) characters with a letter or digit") { text in
            (1...limit).contains(text.count) && text.contains { $0.isLetter || $0.isNumber } ? text : nil
        }
    }

    mutating func keywords(_ raw: String?) -> KeywordQuery? {
        guard let raw else { return nil }
        do {
            return try KeywordQuery.parse(raw)
        } catch {
            report("keywords", error.description)
            return nil
        }
    }

    mutating func maxUrgency(_ raw: Int?) -> Urgency? {
        guard let raw else { return nil }
        guard let urgency = Urgency(rawValue: raw) else {
            report("max_urgency", "must be from 1 (flash) to 9 (routine) (got \(raw))")
            return nil
        }
        return urgency
    }

    mutating func localTime(_ field: String, _ raw: String) -> LocalTime? {
        guard let time = LocalTime(parsing: raw) else {
            report(field, "must be a 24-hour time HH:mm such as 07:30 (got '\(raw)')")
            return nil
        }
        return time
    }

    mutating func quietHours(_ raw: SubscriptionRule.QuietHoursSpec?) -> QuietHours? {
        guard let raw else { return nil }
        let start = localTime("quiet_hours.start", raw.start)
        let end = localTime("quiet_hours.end", raw.end)
        guard let start, let end else { return nil }
        guard start != end else {
            report("quiet_hours.end", "must differ from start (an empty window)")
            return nil
        }
        return QuietHours(start: start, end: end, allowFlash: raw.allowFlash ?? false)
    }

    mutating func delivery(_ raw: SubscriptionRule.DeliverySpec?) -> DeliveryMode {
        guard let raw else { return .immediate }
        switch raw.mode {
        case "immediate":
            if raw.every != nil { report("delivery.every", "applies only to digest delivery") }
            if raw.at != nil { report("delivery.at", "applies only to daily digest delivery") }
            return .immediate
        case "digest":
            return .digest(digestSchedule(raw) ?? .hourly)
        default:
            report("delivery.mode", "must be immediate or digest (got '\(raw.mode)')")
            return .immediate
        }
    }

    private mutating func digestSchedule(_ raw: SubscriptionRule.DeliverySpec) -> DigestSchedule? {
        switch raw.every {
        case "hourly":
            if raw.at != nil { report("delivery.at", "applies only to daily digests; hourly digests go at the top of each hour") }
            return .hourly
        case "daily":
            guard let at = raw.at else { return .daily(at: LocalTime(secondsIntoDay: 8 * ZonedClock.secondsPerHour)) }
            return localTime("delivery.at", at).map { .daily(at: $0) }
        case nil:
            report("delivery.every", "is required for digest delivery: hourly or daily")
            return nil
        case let other?:
            report("delivery.every", "must be hourly or daily (got '\(other)')")
            return nil
        }
    }
}
