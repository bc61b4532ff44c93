import Foundation

/// Why a gazetteer could not be built.
public enum GazetteerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The iso-codes JSON has no "3166-1" array of countries.
    case missingCountryList
    /// A supplement entry names a country code that iso-codes does not have.
    case unknownCountry(code: String, entry: String)
    /// A supplement entry has a kind or region the gazetteer does not know.
    case invalidEntry(entry: String, problem: String)
    /// The bundled supplement resource is missing from the package.
    case missingBundledResource(String)

    public var description: String {
        switch self {
        case .missingCountryList: "iso-codes JSON has no \"3166-1\" list"
        case let .unknownCountry(code, entry): "supplement entry '\(entry)' names unknown country code \(code)"
        case let .invalidEntry(entry, problem): "supplement entry '\(entry)': \(problem)"
        case let .missingBundledResource(name): "bundled resource \(name) is missing"
        }
    }
}
