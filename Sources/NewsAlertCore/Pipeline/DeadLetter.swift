import Foundation

/// A record a stage could not process, parked on `news.deadletter` with the reason (schemas/deadletter.schema.json).
public struct DeadLetter: Codable, Sendable, Hashable {
    public var reason: String
    /// The stage that gave up, e.g. `enrich` or `deliver.webhook`.
    public var stage: String
    public var sourceTopic: String
    public var sourcePartition: Int
    public var sourceOffset: Int64
    public var originalKeyBase64: String?
    public var originalValueBase64: String
    public var failedAt: Date
    public var details: String?

    public init(reason: String, stage: String, sourceTopic: String, sourcePartition: Int, sourceOffset: Int64,
                originalKey: [UInt8]?, originalValue: [UInt8], failedAt: Date, details: String? = nil) {
        self.reason = reason
        self.stage = stage
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        originalKeyBase64 = originalKey.map { Data($0).base64EncodedString() }
        originalValueBase64 = Data(originalValue).base64EncodedString()
        self.failedAt = failedAt
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case reason, stage, details
        case sourceTopic = "source_topic"
        case sourcePartition = "source_partition"
        case sourceOffset = "source_offset"
        case originalKeyBase64 = "original_key_base64"
        case originalValueBase64 = "original_value_base64"
        case failedAt = "failed_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reason, forKey: .reason)
        try container.encode(stage, forKey: .stage)
        try container.encode(sourceTopic, forKey: .sourceTopic)
        try container.encode(sourcePartition, forKey: .sourcePartition)
        try container.encode(sourceOffset, forKey: .sourceOffset)
        try container.encode(originalKeyBase64, forKey: .originalKeyBase64)  // explicit null: the schema requires the key
        try container.encode(originalValueBase64, forKey: .originalValueBase64)
        try container.encode(failedAt, forKey: .failedAt)
        try container.encodeIfPresent(details, forKey: .details)
    }
}
