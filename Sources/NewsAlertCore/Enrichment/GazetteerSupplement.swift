import Foundation

/// The committed supplement file (`Resources/gazetteer-supplement.json`): names iso-codes lacks.
struct GazetteerSupplement: Decodable, Sendable {
    /// One supplement record; `note` becomes the provenance shown in reasons.
    struct Record: Decodable, Sendable {
        let name: String
        let kind: String
        let country: String?
        let aliases: [String]?
        let within: String?
        let regions: [String]?
        let matchCase: Bool?
        let note: String

        enum CodingKeys: String, CodingKey {
            case name, kind, country, aliases, within, regions
            case matchCase = "match_case"
            case note
        }
    }

    let entries: [Record]
}
