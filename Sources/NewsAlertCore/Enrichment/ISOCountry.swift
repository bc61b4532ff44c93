import Foundation

/// A country as Debian's iso-codes lists it in `iso_3166-1.json`.
public struct ISOCountry: Codable, Sendable, Hashable {
    public let alpha2: String
    public let alpha3: String
    /// The ISO short name, sometimes inverted ("Korea, Republic of").
    public let name: String
    public let officialName: String?
    public let commonName: String?

    /// The name to show in reasons: the common name, else the ISO name un-inverted ("State of Palestine").
    public var displayName: String {
        commonName ?? ISOCountry.uninverted(name) ?? name
    }

    /// Names under which the country appears in running text.
    ///
    /// Inverted ISO names ("Korea, Republic of") are kept only in their natural order ("Republic of Korea");
    /// other comma or parenthesised forms ("Virgin Islands, U.S.") are never written in copy and are dropped.
    var textNames: [String] {
        var names = [commonName, officialName, ISOCountry.uninverted(name)].compactMap { $0 }
        if !name.contains(","), !name.contains("(") { names.append(name) }
        var seen = Set<String>()
        return names
            .map { $0.hasPrefix("the ") || $0.hasPrefix("The ") ? String($0.dropFirst(4)) : $0 }
            .filter { !$0.contains(",") && !$0.contains("(") && seen.insert($0).inserted }
    }

    /// "Palestine, State of" → "State of Palestine"; nil when the name is not an inverted "…, X of" form.
    static func uninverted(_ name: String) -> String? {
        let parts = name.components(separatedBy: ", ")
        guard parts.count == 2, let qualifier = parts.last, qualifier.hasSuffix(" of") || qualifier.hasSuffix(" of the") else { return nil }
        return qualifier.prefix(1).uppercased() + qualifier.dropFirst() + " " + parts[0]
    }

    enum CodingKeys: String, CodingKey {
        case alpha2 = "alpha_2"
        case alpha3 = "alpha_3"
        case name
        case officialName = "official_name"
        case commonName = "common_name"
    }
}
