import Foundation

/// A gazetteer name found in text.
public struct GazetteerMatch: Sendable, Hashable {
    public let entry: GazetteerEntry
    /// The words as they appear in the text ("Southern Lebanon").
    public let text: String
    /// Indices into the token array the match was found in (half-open).
    public let tokenRange: Range<Int>
}
