import NIOSSL

/// How to reach and talk to one SMTP relay.
///
/// The password is never part of ``description``, ``debugDescription``, `dump` output, errors or logs.
public struct SMTPRelayConfiguration: Sendable {
    /// Transport security.
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain text only. For loopback relays and tests.
        case none
        /// STARTTLS is required; a server that does not offer it is an error.
        case startTLS
        /// STARTTLS when offered, plain text otherwise (opportunistic).
        case startTLSIfAvailable
        /// TLS from the first byte (submissions port 465).
        case implicit
    }

    /// A SASL mechanism for AUTH.
    public enum AuthenticationMechanism: String, Sendable, Hashable {
        /// RFC 4616 PLAIN, sent with an initial response.
        case plain = "PLAIN"
        /// The LOGIN mechanism (username and password as two base64 challenges).
        case login = "LOGIN"
    }

    /// The relay's host name or IP address.
    public var host: String
    /// The relay's port.
    public var port: Int
    /// Transport security.
    public var tls: TLSMode
    /// TLS settings for STARTTLS and implicit TLS: trust roots (e.g. a private CA), certificate
    /// verification, minimum version. Defaults to the system trust store with full verification.
    public var tlsConfiguration: TLSConfiguration
    /// The name to send in SNI and to verify the certificate against. Defaults to ``host`` when it
    /// is a name; when ``host`` is an IP address the certificate is checked against that address.
    public var tlsServerHostname: String?
    /// The AUTH user name; no AUTH when nil.
    public var username: String?
    /// The AUTH password.
    public var password: String?
    /// Forces one SASL mechanism; by default PLAIN, else LOGIN, as offered.
    public var authenticationMechanism: AuthenticationMechanism?
    /// Allows AUTH over a connection without TLS. Off by default so credentials never travel in clear.
    public var allowsPlaintextAuthentication: Bool
    /// The name sent with EHLO/HELO; should be this host's fully qualified domain name.
    public var heloName: String
    /// How long to wait for each server reply (and for each write).
    public var timeout: Duration
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// Idle pooled connections older than this are closed instead of reused.
    public var idleTimeout: Duration
    /// After this many messages a pooled connection is closed and replaced.
    public var maximumMessagesPerConnection: Int

    /// Creates a configuration.
    ///
    /// - Parameter port: Defaults to 465 for ``TLSMode/implicit`` and 587 otherwise.
    public init(
        host: String,
        port: Int? = nil,
        tls: TLSMode = .startTLS,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration(),
        tlsServerHostname: String? = nil,
        username: String? = nil,
        password: String? = nil,
        authenticationMechanism: AuthenticationMechanism? = nil,
        allowsPlaintextAuthentication: Bool = false,
        heloName: String = "localhost",
        timeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        maximumMessagesPerConnection: Int = 100
    ) {
        self.host = host
        self.port = port ?? (tls == .implicit ? 465 : 587)
        self.tls = tls
        self.tlsConfiguration = tlsConfiguration
        self.tlsServerHostname = tlsServerHostname
        self.username = username
        self.password = password
        self.authenticationMechanism = authenticationMechanism
        self.allowsPlaintextAuthentication = allowsPlaintextAuthentication
        self.heloName = heloName
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maximumMessagesPerConnection = maximumMessagesPerConnection
    }

    /// The SNI / verification name, nil when the certificate must be checked against the peer's IP.
    var serverNameForTLS: String? {
        if let tlsServerHostname { return tlsServerHostname }
        return SocketAddressCheck.isIPAddress(host) ? nil : host
    }
}

extension SMTPRelayConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var parts = ["host: \(host)", "port: \(port)", "tls: \(tls.rawValue)", "heloName: \(heloName)"]
        if let username {
            parts.append("username: \(username)")
            parts.append("password: \(password == nil ? "nil" : "<redacted>")")
        }
        return "SMTPRelayConfiguration(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "tls": tls, "tlsServerHostname": tlsServerHostname as Any,
                "username": username as Any, "password": password == nil ? "nil" : "<redacted>",
                "authenticationMechanism": authenticationMechanism as Any, "heloName": heloName,
                "timeout": timeout, "connectTimeout": connectTimeout,
            ],
            displayStyle: .struct
        )
    }
}

enum SocketAddressCheck {
    static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
