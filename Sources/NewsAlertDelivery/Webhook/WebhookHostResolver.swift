/// Turns a host name into the IP addresses it resolves to.
///
/// ``WebhookAddressPolicy`` resolves each endpoint host exactly once per check; the
/// address it approves is the one the connection is made to. Tests substitute their own.
public protocol WebhookHostResolver: Sendable {
    /// The addresses `host` resolves to, in the resolver's order of preference.
    /// Throws when the name cannot be resolved.
    func resolve(host: String) async throws -> [IPAddress]
}
