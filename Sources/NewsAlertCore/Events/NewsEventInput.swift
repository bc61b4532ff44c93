import Foundation

/// Turns a client's JSON object into a `NewsEvent`, collecting every problem by field.
///
/// Only `kind` and `headline` are required: breaking items often arrive with nothing else.
public struct NewsEventInput: Sendable {
    /// Limits a newsroom can rely on; they match `schemas/news-event-input.schema.json`.
    public struct Limits: Sendable {
        public var headlineCharacters = 300
        public var summaryCharacters = 1_000
        public var bodyCharacters = 100_000
        public var tagCount = 32
        public var tagCharacters = 64
        public var shortTextCharacters = 200
        public var urlCharacters = 2_000
        public init() {}
    }

    static let acceptedFields: Set<String> = [
        "kind", "headline", "summary", "body", "section", "regions", "tags", "byline", "source",
        "url", "urgency", "published_at", "language", "story_override",
    ]

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Validates `object` (a decoded JSON object) into an event with the given id and status.
    ///
    /// - Parameters:
    ///   - defaults: values to use for fields the object leaves out (a correction inherits its original's kind).
    public func event(
        from object: [String: Any], id: String, receivedAt: Date, status: NewsStatus = .usable,
        supersedes: String? = nil, defaults: NewsEvent? = nil
    ) throws(ValidationFailure) -> NewsEvent {
        var reader = FieldReader(object: object)
        // A correction may say why it corrects (`reason`); a first publication has nothing to explain.
        let accepted = supersedes == nil ? Self.acceptedFields : Self.acceptedFields.union(["reason"])
        for field in object.keys.sorted() where !accepted.contains(field) {
            reader.problems.append(FieldProblem(field: field, problem: "is not a known field"))
        }
        let kind = reader.enumeration("kind", NewsKind.self) ?? defaults?.kind
        if kind == nil, object["kind"] == nil || object["kind"] is NSNull { reader.problems.append(FieldProblem(field: "kind", problem: "is required (one of \(NewsKind.allCases.map(\.rawValue).joined(separator: ", ")))")) }
        let headline = reader.text("headline", maxCharacters: limits.headlineCharacters, required: true, singleLine: true)
        let summary = reader.text("summary", maxCharacters: limits.summaryCharacters)
        let body = reader.text("body", maxCharacters: limits.bodyCharacters)
        let section = reader.enumeration("section", NewsSection.self)
        let regions = reader.enumerationList("regions", NewsRegion.self)
        let tags = reader.textList("tags", maxCount: limits.tagCount, maxCharacters: limits.tagCharacters)
        let byline = reader.text("byline", maxCharacters: limits.shortTextCharacters)
        let source = reader.text("source", maxCharacters: limits.shortTextCharacters)
        let url = reader.url("url", maxCharacters: limits.urlCharacters)
        let urgency = reader.urgency("urgency")
        let publishedAt = reader.date("published_at")
        let language = reader.languageTag("language")
        let reason = supersedes == nil ? nil : reader.text("reason", maxCharacters: 500)
        let storyOverride = reader.storyOverride("story_override")
        if storyOverride != nil, supersedes != nil {
            reader.problems.append(FieldProblem(field: "story_override", problem: "cannot be set on a correction: it joins the story of the item it corrects"))
        }
        guard reader.problems.isEmpty, let kind, let headline else { throw ValidationFailure(reader.problems) }
        return NewsEvent(
            id: id, kind: kind, headline: headline, summary: summary, body: body, section: section,
            regions: regions, tags: tags, byline: byline, source: source, url: url, urgency: urgency,
            publishedAt: publishedAt ?? receivedAt, status: status, supersedes: supersedes, language: language, reason: reason,
            storyOverride: supersedes == nil ? storyOverride : nil)
    }
}

/// Reads typed fields out of a JSON object, recording a `FieldProblem` for each one that is wrong.
private struct FieldReader {
    let object: [String: Any]
    var problems: [FieldProblem] = []

    private func isAbsent(_ field: String) -> Bool {
        object[field] == nil || object[field] is NSNull
    }

    mutating func text(_ field: String, maxCharacters: Int, required: Bool = false, singleLine: Bool = false) -> String? {
        guard !isAbsent(field) else {
            if required { problems.append(FieldProblem(field: field, problem: "is required")) }
            return nil
        }
        guard let value = object[field] as? String else {
            problems.append(FieldProblem(field: field, problem: "must be a string"))
            return nil
        }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            if required { problems.append(FieldProblem(field: field, problem: "must not be empty")) }
            return nil
        }
        // Counted in Unicode code points, as JSON Schema's maxLength counts them.
        if trimmed.unicodeScalars.count > maxCharacters {
            problems.append(FieldProblem(field: field, problem: "must be at most \(maxCharacters) characters (got \(trimmed.unicodeScalars.count))"))
            return nil
        }
        if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !"\n\t".unicodeScalars.contains($0) }) {
            problems.append(FieldProblem(field: field, problem: "must not contain control characters"))
            return nil
        }
        // A headline is one line: it becomes an email subject and a ticker line.
        if singleLine, trimmed.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
            problems.append(FieldProblem(field: field, problem: "must be one line (no line breaks)"))
            return nil
        }
        return trimmed
    }

    mutating func enumeration<Value: RawRepresentable & CaseIterable>(_ field: String, _ type: Value.Type) -> Value? where Value.RawValue == String {
        guard !isAbsent(field) else { return nil }
        guard let raw = object[field] as? String, let value = Value(rawValue: raw) else {
            problems.append(FieldProblem(field: field, problem: "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        return value
    }

    mutating func enumerationList<Value: RawRepresentable & CaseIterable & Hashable>(_ field: String, _ type: Value.Type) -> [Value] where Value.RawValue == String {
        guard !isAbsent(field) else { return [] }
        guard let raw = object[field] as? [Any] else {
            problems.append(FieldProblem(field: field, problem: "must be an array"))
            return []
        }
        var values: [Value] = []
        for (index, element) in raw.enumerated() {
            guard let text = element as? String, let value = Value(rawValue: text) else {
                problems.append(FieldProblem(field: "\(field)[\(index)]", problem: "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }

    mutating func textList(_ field: String, maxCount: Int, maxCharacters: Int) -> [String] {
        guard !isAbsent(field) else { return [] }
        guard let raw = object[field] as? [Any] else {
            problems.append(FieldProblem(field: field, problem: "must be an array of strings"))
            return []
        }
        if raw.count > maxCount { problems.append(FieldProblem(field: field, problem: "must have at most \(maxCount) items")) }
        var values: [String] = []
        for (index, element) in raw.prefix(maxCount).enumerated() {
            let trimmed = (element as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard (1...maxCharacters).contains(trimmed.unicodeScalars.count) else {
                problems.append(FieldProblem(field: "\(field)[\(index)]", problem: "must be a string of 1 to \(maxCharacters) characters"))
                continue
            }
            if !values.contains(trimmed) { values.append(trimmed) }
        }
        return values
    }

    mutating func url(_ field: String, maxCharacters: Int) -> String? {
        guard let text = text(field, maxCharacters: maxCharacters) else { return nil }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty else {
            problems.append(FieldProblem(field: field, problem: "must be an absolute http or https URL"))
            return nil
        }
        return text
    }

    mutating func urgency(_ field: String) -> Urgency? {
        guard !isAbsent(field) else { return nil }
        // JSON numbers arrive as NSNumber; booleans are NSNumber too and must not pass as 0/1.
        // JSON booleans also arrive as NSNumber (and `is Bool` holds for 0 and 1 on Linux): tell them apart by type code.
        guard let number = object[field] as? NSNumber, String(cString: number.objCType) != "c",
              let value = Int(exactly: number.doubleValue), let urgency = Urgency(rawValue: value) else {
            problems.append(FieldProblem(field: field, problem: "must be an integer from 1 (flash) to 9 (routine)"))
            return nil
        }
        return urgency
    }

    mutating func date(_ field: String) -> Date? {
        guard !isAbsent(field) else { return nil }
        guard let text = object[field] as? String, let date = RFC3339.parse(text) else {
            problems.append(FieldProblem(field: field, problem: "must be an RFC 3339 date-time such as 2025-06-24T18:38:00Z"))
            return nil
        }
        return date
    }

    mutating func storyOverride(_ field: String) -> StoryOverride? {
        guard !isAbsent(field) else { return nil }
        guard let text = object[field] as? String, let override = StoryOverride(text: text) else {
            problems.append(FieldProblem(field: field, problem: "must be \"new\" or the id of a story to update (story-evt_…)"))
            return nil
        }
        return override
    }

    mutating func languageTag(_ field: String) -> String? {
        guard let text = text(field, maxCharacters: 35) else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let valid = parts.first.map { (2...3).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isLetter } } == true
            && parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        guard valid else {
            problems.append(FieldProblem(field: field, problem: "must be a BCP 47 language tag such as en, ar or pt-BR"))
            return nil
        }
        return text
    }
}
