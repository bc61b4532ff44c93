/// An error from Kafka or from this bridge, with enough context to act on it.
///
/// `isFatal` means the client that raised it can no longer be used (create a new one);
/// `isRetriable` means the same operation may succeed if tried again later.
public struct KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in broad strokes.
    public enum Kind: Sendable, Equatable {
        /// A configuration property is unknown or has an invalid value.
        case configuration
        /// No broker could be reached, or a request timed out.
        case connectivity
        /// A message could not be delivered.
        case delivery
        /// An admin request (create or list topics) failed.
        case admin
        /// An offset could not be stored or committed.
        case offset
        /// The client was already closed.
        case closed
        /// Any other error reported by the broker or librdkafka.
        case broker
    }

    public let kind: Kind
    /// librdkafka's error name, such as `_MSG_TIMED_OUT` or `UNKNOWN_TOPIC_OR_PART`; empty for bridge errors.
    public let code: String
    /// librdkafka's numeric error code (`rd_kafka_resp_err_t`), 0 for bridge errors.
    public let rawCode: Int32
    public let message: String
    public let isFatal: Bool
    public let isRetriable: Bool

    public init(kind: Kind, code: String = "", rawCode: Int32 = 0, message: String, isFatal: Bool = false, isRetriable: Bool = false) {
        self.kind = kind
        self.code = code
        self.rawCode = rawCode
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
    }

    public var description: String {
        var text = "Kafka \(kind) error"
        if !code.isEmpty { text += " [\(code)]" }
        text += ": \(message)"
        if isFatal { text += " (fatal)" } else if isRetriable { text += " (retriable)" }
        return text
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(kind: .closed, message: "\(what) is closed")
    }
}
