/// Why ``WebhookAddressPolicy`` refused a webhook URL. The description names the reason,
/// e.g. "localhost resolves to 127.0.0.1, a loopback address", and never contains credentials.
public enum WebhookAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text is not an absolute URL.
    case invalidURL
    /// Only `http` and `https` are delivered to.
    case unsupportedScheme(String)
    /// The URL has no host.
    case missingHost
    /// The URL carries a user name or password (`http://user:pass@host/`).
    case userInfoNotAllowed
    /// The port is outside 1...65535.
    case invalidPort(Int)
    /// The host name could not be resolved.
    case unresolvable(host: String, reason: String)
    /// The host name resolved to no IPv4 or IPv6 address.
    case noAddresses(host: String)
    /// The host is, or resolves to, an address that deliveries must not reach.
    case forbiddenAddress(host: String, address: IPAddress, kind: SpecialPurposeAddress)

    /// A short explanation naming the reason.
    public var description: String {
        switch self {
        case .invalidURL:
            "not an absolute URL"
        case .unsupportedScheme(let scheme):
            "scheme \"\(scheme)\" is not allowed; use http or https"
        case .missingHost:
            "the URL has no host"
        case .userInfoNotAllowed:
            "the URL must not contain a user name or password"
        case .invalidPort(let port):
            "port \(port) is not a valid TCP port"
        case .unresolvable(let host, let reason):
            "cannot resolve \(host): \(reason)"
        case .noAddresses(let host):
            "\(host) resolves to no IP address"
        case .forbiddenAddress(let host, let address, let kind):
            if host == address.description {
                "\(address) is \(kind)"
            } else {
                "\(host) resolves to \(address), \(kind)"
            }
        }
    }
}
