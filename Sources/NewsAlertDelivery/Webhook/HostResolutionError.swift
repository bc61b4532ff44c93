/// A host name that could not be resolved.
public struct HostResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The host name that was looked up.
    public var host: String
    /// The resolver's explanation, e.g. "Name or service not known".
    public var reason: String

    /// Creates an error for `host`.
    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }

    /// "cannot resolve HOST: REASON".
    public var description: String { "cannot resolve \(host): \(reason)" }
}
