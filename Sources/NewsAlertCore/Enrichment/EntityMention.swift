import Foundation

/// A person, organisation or place named in an item.
public struct EntityMention: Codable, Sendable, Hashable {
    /// What an entity is.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case person, organisation, place
        /// A proper name whose type the simple rules cannot tell.
        case other
    }

    /// The name as written, with any title ("Prime Minister Netanyahu", "Lebanese Ministry of Health").
    public var name: String
    public var kind: Kind
    /// The gazetteer's full name when the entity is a known one ("Benjamin Netanyahu").
    public var canonical: String?
    /// The country the gazetteer associates with a known entity.
    public var country: String?
    /// True when the entity was named in the attribution prefix (the outlet or the speaker).
    public var inAttribution: Bool

    public init(name: String, kind: Kind, canonical: String? = nil, country: String? = nil, inAttribution: Bool = false) {
        self.name = name
        self.kind = kind
        self.canonical = canonical
        self.country = country
        self.inAttribution = inAttribution
    }

    /// A key that matches mentions of the same entity: a person's surname, else the lowercased name.
    public var matchKey: String {
        let full = (canonical ?? name).lowercased()
        guard kind == .person else { return full }
        return full.split(separator: " ").last.map(String.init) ?? full
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, canonical, country
        case inAttribution = "in_attribution"
    }
}
