import Foundation

/// Why enrichment set a value: the words or gazetteer entry (with its provenance) that produced it.
public struct EnrichmentReason: Codable, Sendable, Hashable {
    /// The enrichment field: section, regions, countries, places, entities, urgency, language, reading_time_seconds, source.
    public var field: String
    /// The value added, as text.
    public var value: String
    /// What produced it, e.g. "country LB (Lebanon) via 'South Lebanon' [supplement: area of Lebanon]".
    public var because: String

    public init(field: String, value: String, because: String) {
        self.field = field
        self.value = value
        self.because = because
    }
}
