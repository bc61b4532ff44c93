/// The kinds of non-public IP address that webhook deliveries refuse to connect to,
/// with the ranges that make them up.
public enum SpecialPurposeAddress: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `0.0.0.0/8`, `::/128`.
    case unspecified
    /// `127.0.0.0/8`, `::1/128`.
    case loopback
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    case privateNetwork
    /// Carrier-grade NAT, `100.64.0.0/10`.
    case sharedAddressSpace
    /// `169.254.0.0/16` (including the cloud metadata service 169.254.169.254), `fe80::/10`.
    case linkLocal
    /// IPv6 unique local addresses, `fc00::/7`.
    case uniqueLocal
    /// `224.0.0.0/4`, `ff00::/8`.
    case multicast
    /// `255.255.255.255/32`.
    case broadcast
    /// IETF protocol assignments `192.0.0.0/24`, and the deprecated IPv6 site-local `fec0::/10`.
    case protocolAssignment
    /// Documentation: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    case documentation
    /// Benchmarking: `198.18.0.0/15`, `2001:2::/48`.
    case benchmarking
    /// Reserved for future use, `240.0.0.0/4`; discard-only `100::/64`.
    case reserved

    /// A phrase for error messages, e.g. "a loopback address".
    public var description: String {
        switch self {
        case .unspecified: "an unspecified address"
        case .loopback: "a loopback address"
        case .privateNetwork: "a private network address"
        case .sharedAddressSpace: "a carrier-grade NAT address"
        case .linkLocal: "a link-local address"
        case .uniqueLocal: "a unique local address"
        case .multicast: "a multicast address"
        case .broadcast: "a broadcast address"
        case .protocolAssignment: "an IETF protocol assignment address"
        case .documentation: "a documentation address"
        case .benchmarking: "a benchmarking address"
        case .reserved: "a reserved address"
        }
    }

    /// The ranges of this kind.
    public var ranges: [IPAddressRange] {
        Self.table.filter { $0.kind == self }.map(\.range)
    }

    /// The kind of `address`, or nil for an ordinary public unicast address.
    ///
    /// IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4)
    /// are judged by the IPv4 address they carry.
    public static func classify(_ address: IPAddress) -> SpecialPurposeAddress? {
        if let match = table.first(where: { $0.range.contains(address) }) {
            return match.kind
        }
        if let embedded = address.embeddedIPv4 {
            return classify(embedded)
        }
        return nil
    }

    private static let table: [(range: IPAddressRange, kind: SpecialPurposeAddress)] = ([
        ("0.0.0.0/8", .unspecified),
        ("127.0.0.0/8", .loopback),
        ("10.0.0.0/8", .privateNetwork),
        ("172.16.0.0/12", .privateNetwork),
        ("192.168.0.0/16", .privateNetwork),
        ("100.64.0.0/10", .sharedAddressSpace),
        ("169.254.0.0/16", .linkLocal),
        ("192.0.0.0/24", .protocolAssignment),
        ("192.0.2.0/24", .documentation),
        ("198.51.100.0/24", .documentation),
        ("203.0.113.0/24", .documentation),
        ("198.18.0.0/15", .benchmarking),
        ("224.0.0.0/4", .multicast),
        ("255.255.255.255/32", .broadcast),
        ("240.0.0.0/4", .reserved),
        ("::/128", .unspecified),
        ("::1/128", .loopback),
        ("fc00::/7", .uniqueLocal),
        ("fe80::/10", .linkLocal),
        ("fec0::/10", .protocolAssignment),
        ("ff00::/8", .multicast),
        ("2001:db8::/32", .documentation),
        ("3fff::/20", .documentation),
        ("2001:2::/48", .benchmarking),
        ("100::/64", .reserved),
    ] as [(String, SpecialPurposeAddress)]).map { (IPAddressRange($0.0)!, $0.1) }
}
