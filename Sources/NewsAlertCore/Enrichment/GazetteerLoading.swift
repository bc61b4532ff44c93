import Foundation

// The only file-reading code in NewsAlertCore: everything else takes `Data`.
extension Gazetteer {
    /// Debian's iso-codes country list.
    public static let defaultISOCodesPath = "/usr/share/iso-codes/json/iso_3166-1.json"

    /// Reads iso-codes from `isoCodesPath` and combines it with the bundled supplement.
    public static func load(isoCodesPath: String = defaultISOCodesPath) throws -> Gazetteer {
        let isoData = try Data(contentsOf: URL(fileURLWithPath: isoCodesPath))
        return try Gazetteer(isoCountriesJSON: isoData, supplementJSON: bundledSupplement())
    }
}
