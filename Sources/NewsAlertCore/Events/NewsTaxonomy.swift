/// What kind of item the newsroom published, as the publication's pages group them.
public enum NewsKind: String, Codable, Sendable, CaseIterable {
    case breaking, article, opinion, analysis, blog, feature
}

/// The publication's news sections.
public enum NewsSection: String, Codable, Sendable, CaseIterable {
    case politics = "Politics"
    case economy = "Economy"
    case sports = "Sports"
    case artsAndCulture = "Arts&Culture"
    case health = "Health"
    case miscellaneous = "Miscellaneous"
    case technology = "Technology"
    case environment = "Environment"
}

/// The publication's regions. They overlap: Palestine is also in MENA, Asia-Pacific overlaps Asia.
public enum NewsRegion: String, Codable, Sendable, CaseIterable {
    case africa = "Africa"
    case asia = "Asia"
    case asiaPacific = "Asia-Pacific"
    case europe = "Europe"
    case latinAmerica = "Latin America"
    case mena = "MENA"
    case palestine = "Palestine"
    case usAndCanada = "US & Canada"
}

/// Editorial status, as in IPTC: `withheld` holds an item back, `canceled` kills it.
public enum NewsStatus: String, Codable, Sendable, CaseIterable {
    case usable, withheld, canceled
}

/// IPTC-style urgency: 1 is a flash, 9 routine.
public struct Urgency: RawRepresentable, Codable, Sendable, Hashable, Comparable {
    public static let flash = Urgency(uncheckedRawValue: 1)
    public static let routine = Urgency(uncheckedRawValue: 9)
    public static let range = 1...9

    public let rawValue: Int

    public init?(rawValue: Int) {
        guard Urgency.range.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(uncheckedRawValue: Int) { rawValue = uncheckedRawValue }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int.self)
        guard let urgency = Urgency(rawValue: value) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "urgency must be 1 (flash) to 9 (routine), got \(value)"))
        }
        self = urgency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: Urgency, rhs: Urgency) -> Bool { lhs.rawValue < rhs.rawValue }
}
