import Foundation

/// A named location an item mentions: a country, area, city, town or district.
public struct PlaceMention: Codable, Sendable, Hashable {
    /// Canonical name ("South Lebanon", "Lebanon", "Kawnin").
    public var name: String
    public var kind: GazetteerEntry.Kind
    /// ISO 3166-1 alpha-2 code, when the place has one.
    public var country: String?
    /// Enclosing places, nearest first ("South Lebanon" for Kawnin).
    public var within: [String]
    /// The words the text used ("Southern Lebanon").
    public var mentionedAs: String
    /// True when the mention was in the attribution prefix rather than the report itself.
    public var inAttribution: Bool

    public init(name: String, kind: GazetteerEntry.Kind, country: String?, within: [String] = [], mentionedAs: String, inAttribution: Bool = false) {
        self.name = name
        self.kind = kind
        self.country = country
        self.within = within
        self.mentionedAs = mentionedAs
        self.inAttribution = inAttribution
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, country, within
        case mentionedAs = "mentioned_as"
        case inAttribution = "in_attribution"
    }
}
