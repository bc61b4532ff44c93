import Foundation

/// One name the gazetteer recognises in text, with what it stands for and where that knowledge came from.
public struct GazetteerEntry: Codable, Sendable, Hashable {
    /// What a gazetteer name stands for.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case country, demonym, city, town, district, area, person, organisation

        /// True for kinds that name a location: countries, areas, cities, towns and districts.
        public var isLocation: Bool { [.country, .area, .city, .town, .district].contains(self) }

        /// True for cities, towns and districts: specific enough that two reports naming different ones are different events.
        public var isSpecificPlace: Bool { [.city, .town, .district].contains(self) }
    }

    /// The name as it is written in text ("South Lebanon", "US", "Israeli").
    public let surface: String
    /// The display name the entry stands for ("South Lebanon", "United States", "Benjamin Netanyahu").
    public let canonical: String
    public let kind: Kind
    /// ISO 3166-1 alpha-2 code of the country the entry places a story in, when it has one.
    public let country: String?
    /// Canonical name of the enclosing place ("South Lebanon" for Kawnin).
    public let within: String?
    /// Publication regions for entries with no country ("Middle East" → MENA).
    public let regions: [NewsRegion]
    /// True when the surface must match letter case exactly ("US" but not "us").
    public let matchCase: Bool
    /// Provenance, as shown in reasons: "iso-codes 3166-1" or "supplement: <note>".
    public let source: String

    public init(
        surface: String, canonical: String, kind: Kind, country: String?, within: String? = nil,
        regions: [NewsRegion] = [], matchCase: Bool, source: String
    ) {
        self.surface = surface
        self.canonical = canonical
        self.kind = kind
        self.country = country
        self.within = within
        self.regions = regions
        self.matchCase = matchCase
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case surface, canonical, kind, country, within, regions
        case matchCase = "match_case"
        case source
    }
}
