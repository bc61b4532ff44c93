import Foundation

/// A subscription rule as clients write it in JSON; `validate(timeZone:)` turns it into a `ValidatedRule`.
///
/// Matching clauses (each optional; at least one, or `all: true`):
/// - `sections`, `regions`, `kinds`: lists of the publication's names (`"Politics"`, `"MENA"`, `"breaking"`),
///   compared case-insensitively.
/// - `countries`: ISO 3166-1 alpha-2 codes (`"LB"`). `tags`, `entities`: free strings, compared case- and
///   diacritic-insensitively (`"Hezbollah"`, `"Benjamin Netanyahu"`).
/// - `keywords`: a query over headline, summary and body, e.g. `ceasefire OR "drone strike" -rumour`
///   (syntax: `KeywordQuery`).
/// - `max_urgency`: 1 (flash) … 9 (routine); matches events whose urgency is at most this.
/// - `all: true`: deliberately match every event; cannot be combined with the clauses above.
///
/// Within one list any value matches (OR); every clause given must match (AND). So
/// `{"regions": ["MENA", "Europe"], "keywords": "drone"}` is (MENA or Europe) and the word "drone".
///
/// Delivery:
/// - `quiet_hours`: `{"start": "22:00", "end": "07:00", "allow_flash": true}` on the subscriber's wall clock,
///   may span midnight.
/// - `delivery`: `{"mode": "immediate"}` (the default), `{"mode": "digest", "every": "hourly"}` or
///   `{"mode": "digest", "every": "daily", "at": "08:00"}` (`at` defaults to 08:00, local time).
/// - `channels`: ids of the subscriber's channels to deliver to; left out, the subscriber's default channels.
///
/// Unknown fields are rejected when decoding, so a typo is reported instead of silently ignored.
public struct SubscriptionRule: Codable, Sendable, Hashable {
    public var all: Bool?
    public var sections: [String]?
    public var regions: [String]?
    public var countries: [String]?
    public var tags: [String]?
    public var entities: [String]?
    public var kinds: [String]?
    public var keywords: String?
    public var maxUrgency: Int?
    public var quietHours: QuietHoursSpec?
    public var delivery: DeliverySpec?
    public var channels: [String]?

    /// `quiet_hours` as written: `{"start": "22:00", "end": "07:00", "allow_flash": true}`.
    public struct QuietHoursSpec: Codable, Sendable, Hashable {
        public var start: String
        public var end: String
        public var allowFlash: Bool?

        public init(start: String, end: String, allowFlash: Bool? = nil) {
            self.start = start
            self.end = end
            self.allowFlash = allowFlash
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            start = try container.decode(String.self, forKey: .start)
            end = try container.decode(String.self, forKey: .end)
            allowFlash = try container.decodeIfPresent(Bool.self, forKey: .allowFlash)
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case start, end
            case allowFlash = "allow_flash"
        }
    }

    /// `delivery` as written: `{"mode": "immediate"}` or `{"mode": "digest", "every": "daily", "at": "08:00"}`.
    public struct DeliverySpec: Codable, Sendable, Hashable {
        public var mode: String
        public var every: String?
        public var at: String?

        public init(mode: String, every: String? = nil, at: String? = nil) {
            self.mode = mode
            self.every = every
            self.at = at
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            mode = try container.decode(String.self, forKey: .mode)
            every = try container.decodeIfPresent(String.self, forKey: .every)
            at = try container.decodeIfPresent(String.self, forKey: .at)
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case mode, every, at
        }
    }

    public init(
        all: Bool? = nil, sections: [String]? = nil, regions: [String]? = nil, countries: [String]? = nil,
        tags: [String]? = nil, entities: [String]? = nil, kinds: [String]? = nil, keywords: String? = nil,
        maxUrgency: Int? = nil, quietHours: QuietHoursSpec? = nil, delivery: DeliverySpec? = nil, channels: [String]? = nil
    ) {
        self.all = all
        self.sections = sections
        self.regions = regions
        self.countries = countries
        self.tags = tags
        self.entities = entities
        self.kinds = kinds
        self.keywords = keywords
        self.maxUrgency = maxUrgency
        self.quietHours = quietHours
        self.delivery = delivery
        self.channels = channels
    }

    /// The rule that `criteria` came from (delivery left at its defaults), e.g. to store a generated rule as JSON.
    public init(_ criteria: MatchCriteria) {
        func list<Value: RawRepresentable>(_ values: [Value]) -> [String]? where Value.RawValue == String {
            values.isEmpty ? nil : values.map(\.rawValue)
        }
        self.init(
            all: criteria.matchesEverything ? true : nil, sections: list(criteria.sections), regions: list(criteria.regions),
            countries: criteria.countries.isEmpty ? nil : criteria.countries, tags: criteria.tags.isEmpty ? nil : criteria.tags,
            entities: criteria.entities.isEmpty ? nil : criteria.entities, kinds: list(criteria.kinds),
            keywords: criteria.keywords?.description, maxUrgency: criteria.maxUrgency?.rawValue)
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        all = try container.decodeIfPresent(Bool.self, forKey: .all)
        sections = try container.decodeIfPresent([String].self, forKey: .sections)
        regions = try container.decodeIfPresent([String].self, forKey: .regions)
        countries = try container.decodeIfPresent([String].self, forKey: .countries)
        tags = try container.decodeIfPresent([String].self, forKey: .tags)
        entities = try container.decodeIfPresent([String].self, forKey: .entities)
        kinds = try container.decodeIfPresent([String].self, forKey: .kinds)
        keywords = try container.decodeIfPresent(String.self, forKey: .keywords)
        maxUrgency = try container.decodeIfPresent(Int.self, forKey: .maxUrgency)
        quietHours = try container.decodeIfPresent(QuietHoursSpec.self, forKey: .quietHours)
        delivery = try container.decodeIfPresent(DeliverySpec.self, forKey: .delivery)
        channels = try container.decodeIfPresent([String].self, forKey: .channels)
    }

    /// Decodes a rule from JSON, reporting a wrong type, a missing key or an unknown field as a `ValidationFailure`
    /// that names the field (`quiet_hours.start`, `sections[1]`), so clients get the same 422 answer as for
    /// semantic problems.
    public static func decode(from json: Data) throws(ValidationFailure) -> SubscriptionRule {
        do {
            return try JSONDecoder().decode(SubscriptionRule.self, from: json)
        } catch let error as DecodingError {
            throw ValidationFailure([error.fieldProblem])
        } catch {
            throw ValidationFailure([FieldProblem(field: "rule", problem: "is not valid JSON")])
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case all, sections, regions, countries, tags, entities, kinds, keywords
        case maxUrgency = "max_urgency"
        case quietHours = "quiet_hours"
        case delivery, channels
    }
}

/// A coding key for whatever key a JSON object holds.
private struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int? = nil

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

private extension Decoder {
    /// Throws `dataCorrupted` at the first key that `Keys` does not list.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let container = try self.container(keyedBy: AnyKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: AnyKey(stringValue: unknown), in: container, debugDescription: "is not a known field")
        }
    }
}

extension DecodingError {
    /// The problem, named by its dotted JSON path.
    public var fieldProblem: FieldProblem {
        switch self {
        case .typeMismatch(let type, let context):
            return FieldProblem(field: Self.path(context.codingPath), problem: "must be \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            return FieldProblem(field: Self.path(context.codingPath), problem: "must be \(Self.describe(type)), not null")
        case .keyNotFound(let key, let context):
            return FieldProblem(field: Self.path(context.codingPath + [key]), problem: "is required")
        case .dataCorrupted(let context):
            let problem = context.codingPath.isEmpty ? "must be a JSON object" : context.debugDescription
            return FieldProblem(field: Self.path(context.codingPath), problem: problem)
        @unknown default:
            return FieldProblem(field: "rule", problem: "could not be read")
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += (path.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return path.isEmpty ? "rule" : path
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Bool.Type: "true or false"
        case is [String].Type, is [Any].Type: "an array of strings"
        default: "a JSON object"
        }
    }
}
