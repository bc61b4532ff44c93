import Foundation

/// Reads data files shipped in the package's `Resources` folder (the only resource access in the core).
enum BundledResource {
    /// The bytes of `Resources/<name>.<fileExtension>`.
    static func data(named name: String, fileExtension: String) throws -> Data {
        let url = Bundle.module.url(forResource: name, withExtension: fileExtension, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: name, withExtension: fileExtension)
        guard let url else { throw GazetteerError.missingBundledResource("\(name).\(fileExtension)") }
        return try Data(contentsOf: url)
    }
}
