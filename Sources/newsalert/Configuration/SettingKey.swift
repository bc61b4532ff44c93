/// Every configuration key newsalert reads: its environment variable, default, and whether it is a secret.
///
/// Precedence: a command-line flag, then the environment, then the config file (`--config FILE` or
/// `NEWSALERT_CONFIG`: `NEWSALERT_KEY=value` lines, `#` comments), then the default.
enum SettingKey: String, CaseIterable, Sendable {
    case bootstrapServers = "NEWSALERT_BOOTSTRAP_SERVERS"
    case dataDirectory = "NEWSALERT_DATA_DIR"
    case host = "NEWSALERT_HOST"
    case port = "NEWSALERT_PORT"
    case logLevel = "NEWSALERT_LOG_LEVEL"
    case logFormat = "NEWSALERT_LOG_FORMAT"
    case publicURL = "NEWSALERT_PUBLIC_URL"
    case webhookAllow = "NEWSALERT_WEBHOOK_ALLOW"
    case smtpRelay = "NEWSALERT_SMTP_RELAY"
    case smtpTLS = "NEWSALERT_SMTP_TLS"
    case smtpCAFile = "NEWSALERT_SMTP_CA_FILE"
    case smtpUsername = "NEWSALERT_SMTP_USERNAME"
    case smtpPassword = "NEWSALERT_SMTP_PASSWORD"
    case mailFrom = "NEWSALERT_MAIL_FROM"
    case kafkaSecurityProtocol = "NEWSALERT_KAFKA_SECURITY_PROTOCOL"
    case kafkaSASLMechanism = "NEWSALERT_KAFKA_SASL_MECHANISM"
    case kafkaSASLUsername = "NEWSALERT_KAFKA_SASL_USERNAME"
    case kafkaSASLPassword = "NEWSALERT_KAFKA_SASL_PASSWORD"
    case shutdownDeadline = "NEWSALERT_SHUTDOWN_DEADLINE"
    case fetchWait = "NEWSALERT_FETCH_WAIT_MS"
    case idlePause = "NEWSALERT_IDLE_PAUSE"
    case flashApproval = "NEWSALERT_FLASH_APPROVAL"
    case approvalWindow = "NEWSALERT_APPROVAL_WINDOW"
    case confirmationWindow = "NEWSALERT_CONFIRMATION_WINDOW"
    case signupRatePerClient = "NEWSALERT_SIGNUP_RATE_PER_CLIENT"
    case signupRatePerEmail = "NEWSALERT_SIGNUP_RATE_PER_EMAIL"
    case gripPublish = "NEWSALERT_GRIP_PUBLISH"
    case gripKey = "NEWSALERT_GRIP_KEY"

    /// The environment variable naming the config file.
    static let configFileVariable = "NEWSALERT_CONFIG"

    var isSecret: Bool {
        self == .smtpPassword || self == .kafkaSASLPassword || self == .gripKey
    }

    /// The value used when nothing sets the key; nil when it stays unset (e.g. no SMTP relay: email is off).
    var defaultValue: String? {
        switch self {
        case .dataDirectory: "./data"
        case .host: "127.0.0.1"
        case .port: "8080"
        case .logLevel: "info"
        case .logFormat: "text"
        case .publicURL: "http://127.0.0.1:8080"
        case .smtpTLS: "starttls-if-available"
        case .mailFrom: "newsalert <alerts@newsalert.invalid>"
        case .shutdownDeadline: "20"
        case .fetchWait: "50"
        case .idlePause: "on"
        case .flashApproval: "auto"
        case .approvalWindow: "900"
        case .confirmationWindow: "86400"
        case .signupRatePerClient: "20"
        case .signupRatePerEmail: "5"
        default: nil
        }
    }

    var help: String {
        switch self {
        case .bootstrapServers: "Kafka bootstrap servers (host:port,...); unset: `serve` starts the embedded broker"
        case .dataDirectory: "directory of the SQLite database"
        case .host: "address the HTTP server listens on"
        case .port: "HTTP port (0 picks a free one)"
        case .logLevel: "trace, debug, info, notice, warning, error or critical"
        case .logFormat: "text, or json for one JSON object per line"
        case .publicURL: "base URL subscribers reach this service at (unsubscribe links)"
        case .webhookAllow: "comma-separated CIDRs or host names webhooks may reach despite the SSRF guard"
        case .smtpRelay: "SMTP relay host:port for email alerts; unset: email delivery is off"
        case .smtpTLS: "none, starttls, starttls-if-available or implicit"
        case .smtpCAFile: "PEM file of CA certificates to trust for the relay instead of the system's (a private relay)"
        case .smtpUsername: "SMTP AUTH user name"
        case .smtpPassword: "SMTP AUTH password"
        case .mailFrom: "From address of alert emails"
        case .kafkaSecurityProtocol: "librdkafka security.protocol (plaintext, ssl, sasl_plaintext, sasl_ssl)"
        case .kafkaSASLMechanism: "librdkafka sasl.mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"
        case .kafkaSASLUsername: "librdkafka sasl.username"
        case .kafkaSASLPassword: "librdkafka sasl.password"
        case .shutdownDeadline: "seconds a graceful shutdown may take before the process exits anyway"
        case .idlePause: "on or off: on the embedded broker, idle stages stop fetching and are woken by the process's own producers; records other processes write there arrive within 5 s (off: every stage fetches each fetch wait)"
        case .flashApproval: "FLASH approval by a second editor: auto (when the newsroom has more than one editor key), on or off"
        case .approvalWindow: "seconds a FLASH may wait for a second editor before it expires unpublished"
        case .confirmationWindow: "seconds an email confirmation link works; an address unconfirmed for longer is deleted"
        case .signupRatePerClient: "public signups one client address may post per hour (then 429)"
        case .signupRatePerEmail: "public signups for one email address acted on per hour (the rest answer the same and do nothing)"
        case .gripPublish: "base URL of a GRIP proxy's publish API (Pushpin: http://HOST:5561): the ticker publishes every item to it; unset: no publishing"
        case .gripKey: "key a GRIP proxy signs forwarded requests with (Grip-Sig; Pushpin's sig_key): such requests get hold instructions; unset: Grip-Sig is ignored"
        case .fetchWait: "milliseconds a broker may hold a pipeline stage's fetch while nothing is new (fetch.wait.max.ms): Kafka answers at once when a record arrives, the embedded broker only after this time, so it bounds each hop's latency there and sets the idle cost"
        }
    }
}
