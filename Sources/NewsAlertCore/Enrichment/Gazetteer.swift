import Foundation

/// Recognises countries, demonyms, places, people and organisations in news copy.
///
/// Built from Debian's iso-codes country list plus a committed supplement with what iso-codes lacks
/// (short names, demonyms, cities and areas, known people and organisations). Every entry keeps its
/// provenance so enrichment reasons can cite it. Matching is on word boundaries, longest name first
/// ("Gaza Strip" before "Gaza"), and case-aware: names need a capital letter ("China", not "china"), and
/// abbreviations written in capitals match only in capitals ("US", not the pronoun "us").
public struct Gazetteer: Sendable {
    /// Provenance label of entries built from iso-codes.
    public static let isoSource = "iso-codes 3166-1"

    /// Countries from iso-codes, by alpha-2 code.
    public let countries: [String: ISOCountry]
    /// Every recognisable name: supplement entries first, then iso-codes names.
    public let entries: [GazetteerEntry]

    private let index: [String: [GazetteerEntry]]
    private let longestNameInWords: Int
    private let locationsByCanonical: [String: GazetteerEntry]

    /// Builds the gazetteer from the bytes of `iso_3166-1.json` and of the supplement.
    public init(isoCountriesJSON: Data, supplementJSON: Data) throws {
        let isoFile = try JSONDecoder().decode([String: [ISOCountry]].self, from: isoCountriesJSON)
        guard let isoCountries = isoFile["3166-1"], !isoCountries.isEmpty else { throw GazetteerError.missingCountryList }
        let countries = Dictionary(isoCountries.map { ($0.alpha2, $0) }, uniquingKeysWith: { first, _ in first })
        let supplement = try JSONDecoder().decode(GazetteerSupplement.self, from: supplementJSON)

        var entries = try supplement.entries.flatMap { try Gazetteer.entries(from: $0, countries: countries) }
        entries += isoCountries.flatMap { country in
            country.textNames.map {
                GazetteerEntry(surface: $0, canonical: country.displayName, kind: .country, country: country.alpha2, matchCase: false, source: Gazetteer.isoSource)
            }
        }
        try self.init(countries: countries, entries: entries)
    }

    private init(countries: [String: ISOCountry], entries: [GazetteerEntry]) throws {
        var index: [String: [GazetteerEntry]] = [:]
        var longest = 1
        var locations: [String: GazetteerEntry] = [:]
        for entry in entries {
            let words = TextToken.tokenize(entry.surface).map(\.lowered)
            guard !words.isEmpty else { continue }
            longest = max(longest, words.count)
            index[words.joined(separator: " "), default: []].append(entry)
            if entry.kind.isLocation, locations[entry.canonical] == nil { locations[entry.canonical] = entry }
        }
        for entry in entries {
            if let within = entry.within, locations[within] == nil {
                throw GazetteerError.invalidEntry(entry: entry.surface, problem: "within '\(within)' is not a known place")
            }
        }
        self.countries = countries
        self.entries = entries
        self.index = index
        longestNameInWords = longest
        locationsByCanonical = locations
    }

    /// The bytes of the supplement shipped with the package (`Resources/gazetteer-supplement.json`).
    public static func bundledSupplement() throws -> Data {
        try BundledResource.data(named: "gazetteer-supplement", fileExtension: "json")
    }

    /// The iso-codes country with alpha-2 `code`.
    public func country(_ code: String) -> ISOCountry? {
        countries[code.uppercased()]
    }

    /// Display name of a country code, or the code itself when unknown.
    public func countryName(_ code: String) -> String {
        country(code)?.displayName ?? code
    }

    /// Gazetteer names in `text`, left to right, longest first, never overlapping.
    public func matches(in text: String) -> [GazetteerMatch] {
        matches(in: TextToken.tokenize(text), of: text)
    }

    /// Gazetteer names in `tokens` (cut from `text`), left to right, longest first, never overlapping.
    public func matches(in tokens: [TextToken], of text: String) -> [GazetteerMatch] {
        var found: [GazetteerMatch] = []
        var start = 0
        while start < tokens.count {
            let match = longestMatch(in: tokens, at: start, of: text)
            if let match {
                found.append(match)
                start = match.tokenRange.upperBound
            } else {
                start += 1
            }
        }
        return found
    }

    /// Publication regions implied by an entry: its country's regions, or the entry's own for world areas.
    public func regions(for entry: GazetteerEntry) -> [NewsRegion] {
        entry.country.map(RegionMap.regions(forCountry:)) ?? entry.regions
    }

    /// Canonical names of the places enclosing `entry`, nearest first ("South Lebanon" for Kawnin).
    public func enclosingPlaces(of entry: GazetteerEntry) -> [String] {
        var chain: [String] = []
        var current = entry.within
        while let name = current, !chain.contains(name), chain.count < 8 {
            chain.append(name)
            current = locationsByCanonical[name]?.within
        }
        return chain
    }

    private func longestMatch(in tokens: [TextToken], at start: Int, of text: String) -> GazetteerMatch? {
        let maxLength = min(longestNameInWords, tokens.count - start)
        guard maxLength > 0 else { return nil }
        for length in stride(from: maxLength, through: 1, by: -1) {
            let slice = tokens[start..<(start + length)]
            let key = slice.map(\.lowered).joined(separator: " ")
            guard let candidates = index[key] else { continue }
            if let entry = candidates.first(where: { Gazetteer.caseAllows($0, slice) }),
               let first = slice.first, let last = slice.last {
                let surface = String(text[first.range.lowerBound..<last.textRange.upperBound])
                return GazetteerMatch(entry: entry, text: surface, tokenRange: start..<(start + length))
            }
        }
        return nil
    }

    /// Case rule: exact for case-sensitive names and all-capital abbreviations; otherwise one capitalised word suffices.
    static func caseAllows(_ entry: GazetteerEntry, _ tokens: ArraySlice<TextToken>) -> Bool {
        if entry.matchCase || isAbbreviation(entry.surface) {
            return TextToken.tokenize(entry.surface).map(\.text) == tokens.map(\.text)
        }
        return tokens.contains(where: \.isCapitalized)
    }

    /// True for names written in capitals only, such as "US", "WHO" or "U.S.".
    static func isAbbreviation(_ surface: String) -> Bool {
        let letters = surface.unicodeScalars.filter(CharacterSet.letters.contains)
        return letters.count >= 2 && letters.allSatisfy(CharacterSet.uppercaseLetters.contains)
    }

    private static func entries(from record: GazetteerSupplement.Record, countries: [String: ISOCountry]) throws -> [GazetteerEntry] {
        guard let kind = GazetteerEntry.Kind(rawValue: record.kind) else {
            throw GazetteerError.invalidEntry(entry: record.name, problem: "unknown kind '\(record.kind)'")
        }
        if let code = record.country, countries[code] == nil {
            throw GazetteerError.unknownCountry(code: code, entry: record.name)
        }
        let regions = try (record.regions ?? []).map { name in
            guard let region = NewsRegion(rawValue: name) else {
                throw GazetteerError.invalidEntry(entry: record.name, problem: "unknown region '\(name)'")
            }
            return region
        }
        // Country aliases and demonyms stand for the country itself; everything else keeps its own name.
        let canonical = (kind == .country || kind == .demonym) ? record.country.flatMap { countries[$0]?.displayName } ?? record.name : record.name
        return ([record.name] + (record.aliases ?? [])).flatMap { surface in
            var surfaces = [surface]
            if kind == .demonym, let plural = demonymPlural(surface) { surfaces.append(plural) }
            return surfaces.map {
                GazetteerEntry(
                    surface: $0, canonical: canonical, kind: kind, country: record.country, within: record.within,
                    regions: regions, matchCase: record.matchCase ?? false, source: "supplement: \(record.note)"
                )
            }
        }
    }

    /// "Israeli" → "Israelis"; nil for demonyms that do not take an -s ("Lebanese", "British", "Swiss").
    private static func demonymPlural(_ demonym: String) -> String? {
        let invariant = ["s", "ese", "sh", "ch"]
        guard !invariant.contains(where: { demonym.hasSuffix($0) }) else { return nil }
        return demonym + "s"
    }
}
