import Foundation

/// Decides whether a webhook URL may be delivered to, guarding against server-side request
/// forgery: only `http`/`https`, no credentials in the URL, and a host that resolves only to
/// public unicast addresses — unless configuration explicitly allows it.
///
/// The host is resolved exactly once; the approved address is returned in a
/// ``CheckedWebhookTarget`` and is the one ``WebhookSender`` connects to.
/// IPv4 literals in any spelling (`2130706433`, `0x7f.1`, `017700000001`) and IPv6 addresses
/// that carry an IPv4 address (`::ffff:127.0.0.1`, `64:ff9b::a00:1`, `2002:7f00:1::`) are
/// judged by the IPv4 address they denote.
public struct WebhookAddressPolicy: Sendable {
    /// Address blocks that may be reached even though they are not public (e.g. `127.0.0.1/32`).
    public var allowedRanges: [IPAddressRange]
    /// Host names that may be reached whatever they resolve to; compared case-insensitively.
    /// An entry `*.example.internal` allows every subdomain of `example.internal`.
    public var allowedHosts: [String]
    /// Looks up host names that are not IP literals.
    public var resolver: any WebhookHostResolver

    /// Creates a policy. With empty allowlists only public addresses are reachable.
    public init(
        allowedRanges: [IPAddressRange] = [],
        allowedHosts: [String] = [],
        resolver: any WebhookHostResolver = SystemHostResolver()
    ) {
        self.allowedRanges = allowedRanges
        self.allowedHosts = allowedHosts.map(Self.normalizedHost)
        self.resolver = resolver
    }

    /// Creates a policy from configuration entries, each either a CIDR block or bare address
    /// (`127.0.0.1/32`, `fd12::/16`, `10.1.2.3`) or a host name (`hooks.on-prem.example`).
    public init(allowlist entries: [String], resolver: any WebhookHostResolver = SystemHostResolver()) {
        var ranges: [IPAddressRange] = []
        var hosts: [String] = []
        for entry in entries {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            if let range = IPAddressRange(trimmed) {
                ranges.append(range)
            } else {
                hosts.append(trimmed)
            }
        }
        self.init(allowedRanges: ranges, allowedHosts: hosts, resolver: resolver)
    }

    /// Checks `url` and resolves its host; returns the target to connect to, or throws
    /// ``WebhookAddressError`` naming the reason for refusal.
    ///
    /// When a host resolves to several addresses, every one must be acceptable; the first is used.
    public func check(_ url: URL) async throws(WebhookAddressError) -> CheckedWebhookTarget {
        let parts = try Self.validate(url)
        let addresses: [IPAddress]
        if let literal = Self.literalAddress(parts.host) {
            addresses = [literal]
        } else {
            do {
                // Resolve the name the way DNS sees it; the connection is pinned to the answer anyway.
                addresses = try await resolver.resolve(host: Self.normalizedHost(parts.host))
            } catch let error as HostResolutionError {
                throw .unresolvable(host: parts.host, reason: error.reason)
            } catch {
                throw .unresolvable(host: parts.host, reason: String(describing: error))
            }
        }
        let address = try approve(host: parts.host, addresses: addresses)
        return CheckedWebhookTarget(url: url, host: parts.host, port: parts.port, usesTLS: parts.usesTLS, address: address)
    }

    /// Checks a URL given as text; see the `URL` overload.
    public func check(_ urlString: String) async throws(WebhookAddressError) -> CheckedWebhookTarget {
        guard let url = URL(string: urlString) else { throw .invalidURL }
        return try await check(url)
    }

    /// Applies the address rules to already-resolved `addresses` of `host` and returns the one to
    /// connect to. Every address must be public, or allowed by ``allowedRanges``, unless the host
    /// itself is in ``allowedHosts``.
    public func approve(host: String, addresses: [IPAddress]) throws(WebhookAddressError) -> IPAddress {
        guard let first = addresses.first else { throw .noAddresses(host: host) }
        if isAllowedHost(host) { return first }
        for address in addresses {
            if allowedRanges.contains(where: { $0.contains(address) }) { continue }
            if let kind = SpecialPurposeAddress.classify(address) {
                throw .forbiddenAddress(host: host, address: address, kind: kind)
            }
        }
        return first
    }

    /// Whether `host` is in ``allowedHosts``.
    public func isAllowedHost(_ host: String) -> Bool {
        let host = Self.normalizedHost(host)
        return allowedHosts.contains { entry in
            if entry.hasPrefix("*.") {
                return host.hasSuffix(entry.dropFirst())
            }
            return entry == host
        }
    }

    // MARK: - Parsing

    private struct URLParts {
        var host: String
        var port: Int
        var usesTLS: Bool
    }

    private static func validate(_ url: URL) throws(WebhookAddressError) -> URLParts {
        guard let scheme = url.scheme?.lowercased() else { throw .invalidURL }
        guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme(scheme) }
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        if url.user != nil || url.password != nil || components?.user != nil || components?.password != nil {
            throw .userInfoNotAllowed
        }
        guard var host = url.host, !host.isEmpty else { throw .missingHost }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw .missingHost }
        let usesTLS = scheme == "https"
        let port = url.port ?? (usesTLS ? 443 : 80)
        guard (1...65_535).contains(port) else { throw .invalidPort(port) }
        return URLParts(host: host, port: port, usesTLS: usesTLS)
    }

    /// The address a host denotes without DNS: canonical IPv4/IPv6, or any legacy IPv4 spelling.
    private static func literalAddress(_ host: String) -> IPAddress? {
        IPAddress(host) ?? IPAddress(legacyIPv4: host)
    }

    private static func normalizedHost(_ host: String) -> String {
        var host = host.lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
