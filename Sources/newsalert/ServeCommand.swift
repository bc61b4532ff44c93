import ArgumentParser
import Foundation
import NewsAlertDelivery
import NewsAlertHTTP
import Metrics
import NIOSSL
import NewsAlertServices
import Prometheus

/// `newsalert serve`: every role in one process, on the embedded broker unless a cluster is given.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run newsalert: embedded broker (unless --bootstrap-servers), ingest API, console, enrich, fan-out and delivery.",
        discussion: "Prints `bootstrap.servers=...` and `listening on http://...` once ready.")

    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.run(roles: Set(NewsAlertNode.Role.allCases), label: "serve")
    }
}

/// `newsalert fanout`: the fan-out role (and the API) against a Kafka cluster.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Run fan-out: news.enriched → subscription matching → alerts.webhook / alerts.email / alerts.ticker.",
        discussion: "Starts from the data directory's SQLite file (empty is fine) and replays subscriptions.changelog into it.")

    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.run(roles: [.fanout], label: "fanout")
    }
}

/// `newsalert deliver --channel webhook`: one delivery role against a Kafka cluster.
struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Run a delivery worker: alerts.<channel> → receivers, with retries, the delivery log and dead letters.")

    enum Channel: String, ExpressibleByArgument, CaseIterable {
        case webhook, email
    }

    @Option(help: "The channel to deliver: webhook or email (email needs NEWSALERT_SMTP_RELAY).") var channel: Channel
    @OptionGroup var node: NodeOptions

    func run() async throws {
        switch channel {
        case .webhook: try await node.run(roles: [.deliverWebhook], label: "deliver-webhook")
        case .email:
            guard try node.settings()[.smtpRelay] != nil else { throw ValidationError("email delivery needs an SMTP relay: --smtp-relay HOST:PORT or NEWSALERT_SMTP_RELAY") }
            try await node.run(roles: [.deliverEmail], label: "deliver-email")
        }
    }
}

/// `newsalert ingest`: the newsroom API and console alone (every role also serves them).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Run the newsroom API: POST /v1/events → news.events, plus subscriber management and the console.")

    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.run(roles: [], label: "ingest")
    }
}

/// `newsalert ticker`: the live WebSocket ticker (`GET /v1/ticker`) fed from alerts.ticker.
struct TickerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticker",
        abstract: "Run the live ticker: alerts.ticker → WebSocket clients on GET /v1/ticker, with resume and gap frames.",
        discussion: "Each ticker process reads the whole retained ticker log with a group of its own, so any number can run side by side.")

    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.run(roles: [.ticker], label: "ticker")
    }
}

/// `newsalert config print`: the effective configuration, where each value came from, secrets masked.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show the effective configuration.", subcommands: [Print.self])

    struct Print: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every NEWSALERT_* key with its effective value and source (flag, environment, file, default); secrets are masked.")

        @OptionGroup var node: NodeOptions

        func run() async throws {
            let settings = try node.settings()
            if let path = settings.filePath { printLine("# config file: \(path)") }
            settings.printable().forEach(printLine)
        }
    }
}

/// Options shared by `serve` and the role commands.
struct NodeOptions: ParsableArguments {
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Address to listen on. Env: NEWSALERT_HOST.") var host: String?
    @Option(help: "Port to listen on (0 picks a free one). Env: NEWSALERT_PORT.") var port: Int?
    @Option(help: "Brokers of the embedded cluster (one machine, one process: more brokers add threads and idle cost, not safety).") var brokers: Int = 1
    @Option(help: "Replication factor for topics created on a real cluster.") var replicationFactor: Int = 3
    @Option(help: "Largest accepted request body in bytes.") var bodyLimit: Int = 256 * 1024
    @Option(help: "FLASH approval by a second editor: auto (when there is more than one editor key), on or off. Env: NEWSALERT_FLASH_APPROVAL.")
    var flashApproval: String?
    @Option(help: "Seconds a FLASH may wait for a second editor before it expires unpublished (default 900). Env: NEWSALERT_APPROVAL_WINDOW.")
    var approvalWindow: Double?
    @Option(help: "Seconds an email confirmation link works (default 86400). Env: NEWSALERT_CONFIRMATION_WINDOW.")
    var confirmationWindow: Double?
    @Option(help: "Public signups one client address may post per hour (default 20). Env: NEWSALERT_SIGNUP_RATE_PER_CLIENT.")
    var signupRatePerClient: Int?
    @Option(help: "Public signups for one email address acted on per hour (default 5). Env: NEWSALERT_SIGNUP_RATE_PER_EMAIL.")
    var signupRatePerEmail: Int?
    @Option(help: "Comma-separated CIDRs or host names webhooks may reach despite the SSRF guard, e.g. 127.0.0.1/32. Env: NEWSALERT_WEBHOOK_ALLOW.")
    var webhookAllow: String?
    @Option(help: "Comma-separated seconds between webhook attempts (default 0,5,300,1800,7200,18000,36000,36000).")
    var retryDelays: String?
    @Option(help: "Webhook attempt timeout in seconds.") var webhookTimeout: Double = 15
    @Option(help: "Requests per second to one webhook endpoint.") var webhookRate: Double = 50
    @Option(help: "Webhook requests in flight at once to one endpoint.") var webhookConcurrency: Int = 4
    @Option(help: "Seconds a channel may fail without one success before it is disabled (default 5 days).") var disableFailingAfter: Int = 5 * 86_400
    @Option(help: "SMTP relay HOST:PORT for email alerts. Env: NEWSALERT_SMTP_RELAY.") var smtpRelay: String?
    @Option(help: "SMTP TLS: none, starttls, starttls-if-available or implicit. Env: NEWSALERT_SMTP_TLS.") var smtpTLS: String?
    @Option(help: "PEM file of CA certificates to trust for the SMTP relay. Env: NEWSALERT_SMTP_CA_FILE.") var smtpCAFile: String?
    @Option(help: "From address of alert emails. Env: NEWSALERT_MAIL_FROM.") var mailFrom: String?
    @Option(help: "Base URL subscribers reach this service at (unsubscribe links). Env: NEWSALERT_PUBLIC_URL.") var publicURL: String?
    @Option(help: "Consumer group of the fan-out role.") var fanoutGroup: String = "newsalert-fanout"
    @Option(help: "Ticker items kept for clients that resume.") var tickerWindow: Int = 10_000
    @Option(help: "Frames one ticker client may fall behind before it is disconnected.") var tickerClientBuffer: Int = 1_000
    @Option(help: "Comma-separated browser origins allowed to open the ticker, besides this server's own.") var tickerOrigins: String = ""
    @Option(help: "Base URL of a GRIP proxy's publish API (Pushpin: http://HOST:5561): every ticker item is published to it. Env: NEWSALERT_GRIP_PUBLISH.")
    var gripPublish: String?
    @Option(help: "Key a GRIP proxy signs forwarded requests with (Grip-Sig, Pushpin's sig_key). Env: NEWSALERT_GRIP_KEY.") var gripKey: String?

    /// The effective settings: flags of this command over the environment over the config file over defaults.
    func settings() throws -> Settings {
        try kafka.settings([
            .dataDirectory: data.dataDirectory, .host: host, .port: port.map(String.init), .webhookAllow: webhookAllow,
            .smtpRelay: smtpRelay, .smtpTLS: smtpTLS, .smtpCAFile: smtpCAFile, .mailFrom: mailFrom, .publicURL: publicURL,
            .flashApproval: flashApproval, .approvalWindow: approvalWindow.map { String($0) }, .gripPublish: gripPublish, .gripKey: gripKey,
            .confirmationWindow: confirmationWindow.map { String($0) }, .signupRatePerClient: signupRatePerClient.map(String.init),
            .signupRatePerEmail: signupRatePerEmail.map(String.init),
        ])
    }

    /// Runs a node with `roles`. `portWhenUnset` replaces the default port when no flag, variable or file sets one
    /// (a worker role on a shared machine should not claim 8080).
    func run(
        roles: Set<NewsAlertNode.Role>, label: String, portWhenUnset: Int? = nil,
        customize: (inout NewsAlertNode.Options) -> Void = { _ in }
    ) async throws {
        let settings = try settings()
        CommandLogging.bootstrap(settings)
        let logger = CommandLogging.logger(label)
        var options = NewsAlertNode.Options()
        options.roles = roles
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        options.metricsText = { registry.emitToString() }
        options.kafka = try settings[.bootstrapServers].map { try kafka.configuration(bootstrapServers: $0) }
        // Only `serve` starts an embedded broker; a single role joins a cluster that other roles share.
        if options.kafka == nil, roles != Set(NewsAlertNode.Role.allCases) {
            throw ValidationError("`newsalert \(label)` needs --bootstrap-servers (or NEWSALERT_BOOTSTRAP_SERVERS); `newsalert serve` runs every role on an embedded broker")
        }
        options.embeddedBrokers = brokers
        options.replicationFactor = replicationFactor
        options.host = settings[.host] ?? "127.0.0.1"
        let configuredPort = settings.entry(.port).source == .default ? portWhenUnset.map(String.init) ?? settings[.port] : settings[.port]
        guard let port = configuredPort.flatMap(Int.init), (0...65535).contains(port) else {
            throw ValidationError("the port (--port or NEWSALERT_PORT) must be 0...65535")
        }
        options.port = port
        options.dataDirectory = settings[.dataDirectory] ?? "./data"
        guard let deadline = settings[.shutdownDeadline].flatMap(Double.init), deadline > 0 else {
            throw ValidationError("NEWSALERT_SHUTDOWN_DEADLINE must be a number of seconds above 0")
        }
        options.shutdownDeadline = .milliseconds(Int(deadline * 1000))
        guard let fetchWait = settings[.fetchWait].flatMap(Int.init), (1...10_000).contains(fetchWait) else {
            throw ValidationError("NEWSALERT_FETCH_WAIT_MS must be a number of milliseconds from 1 to 10000")
        }
        options.fetchWaitMilliseconds = fetchWait
        switch settings[.idlePause] {
        case "on": options.pauseIdleStages = true
        case "off": options.pauseIdleStages = false
        default: throw ValidationError("NEWSALERT_IDLE_PAUSE must be on or off")
        }
        options.ingest.bodyLimitBytes = bodyLimit
        guard let approval = settings[.flashApproval].flatMap(IngestConfiguration.FlashApproval.init(rawValue:)) else {
            throw ValidationError("--flash-approval (NEWSALERT_FLASH_APPROVAL) must be auto, on or off")
        }
        guard let window = settings[.approvalWindow].flatMap(Double.init), window > 0 else {
            throw ValidationError("--approval-window (NEWSALERT_APPROVAL_WINDOW) must be a number of seconds above 0")
        }
        options.ingest.flashApproval = approval
        options.ingest.approvalWindow = window
        guard let confirmationWindow = settings[.confirmationWindow].flatMap(Double.init), confirmationWindow > 0 else {
            throw ValidationError("--confirmation-window (NEWSALERT_CONFIRMATION_WINDOW) must be a number of seconds above 0")
        }
        options.confirmationWindow = confirmationWindow
        guard let perClient = settings[.signupRatePerClient].flatMap(Int.init), perClient > 0,
              let perEmail = settings[.signupRatePerEmail].flatMap(Int.init), perEmail > 0 else {
            throw ValidationError("NEWSALERT_SIGNUP_RATE_PER_CLIENT and NEWSALERT_SIGNUP_RATE_PER_EMAIL must be whole numbers above 0")
        }
        options.signupLimits.perClient = perClient
        options.signupLimits.perEmail = perEmail
        options.smtp = try smtpConfiguration(settings)
        options.mailFrom = settings[.mailFrom] ?? options.mailFrom
        options.publicURL = settings[.publicURL] ?? options.publicURL
        customize(&options)
        options.webhookAllowlist = (settings[.webhookAllow] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        options.webhook.timeout = .milliseconds(Int(webhookTimeout * 1000))
        options.webhookRatePerSecond = webhookRate
        options.webhook.maximumConcurrentRequestsPerEndpoint = max(1, webhookConcurrency)
        options.delivery.maxConcurrentPerTarget = max(1, webhookConcurrency)
        options.fanout.groupID = fanoutGroup
        options.delivery.disableFailingAfter = .seconds(disableFailingAfter)
        options.tickerWindow = tickerWindow
        options.tickerClientBuffer = tickerClientBuffer
        options.tickerAllowedOrigins = Set(tickerOrigins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        options.gripPublishURL = settings[.gripPublish]
        options.gripKey = settings[.gripKey]
        if let retryDelays {
            let delays = try retryDelays.split(separator: ",").map { text -> Duration in
                guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
                    throw ValidationError("--retry-delays expects comma-separated seconds, got \"\(text)\"")
                }
                return .milliseconds(Int(seconds * 1000))
            }
            options.delivery.schedule = RetrySchedule(delays: delays)
        }
        let node = try await NewsAlertNode(options: options, logger: logger) { url in
            printLine("listening on \(url)")
        }
        printLine("bootstrap.servers=\(node.bootstrapServers)")
        printLine("data directory \(options.dataDirectory)")
        if options.kafka == nil {
            printLine("embedded Kafka broker: inside this process, memory only, about 5 MiB kept per partition, one machine; every start begins with an empty log")
            printLine("survives a restart or a crash: SQLite in \(options.dataDirectory) (accepted events, stage journals, subscriptions, delivery queues, held alerts); unfinished work goes back on the new log at start")
        }
        try await node.run(logger: logger)
    }
}

extension NodeOptions {
    /// The SMTP relay from the settings, or nil when none is configured.
    func smtpConfiguration(_ settings: Settings) throws -> SMTPRelayConfiguration? {
        guard let relay = settings[.smtpRelay], !relay.isEmpty else { return nil }
        let parts = relay.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("NEWSALERT_SMTP_RELAY must be HOST:PORT, got \"\(relay)\"")
        }
        let modes: [String: SMTPRelayConfiguration.TLSMode] = [
            "none": .none, "starttls": .startTLS, "starttls-if-available": .startTLSIfAvailable, "implicit": .implicit,
        ]
        let modeText = settings[.smtpTLS] ?? "starttls-if-available"
        guard let mode = modes[modeText] else { throw ValidationError("NEWSALERT_SMTP_TLS must be none, starttls, starttls-if-available or implicit") }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings[.smtpCAFile], !caFile.isEmpty {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw ValidationError("NEWSALERT_SMTP_CA_FILE \(caFile) cannot be read") }
            tls.trustRoots = .file(caFile)
        }
        return SMTPRelayConfiguration(
            host: String(parts[0]), port: port, tls: mode, tlsConfiguration: tls, username: settings[.smtpUsername], password: settings[.smtpPassword],
            // A relay on this machine may take credentials without TLS; anywhere else they need it.
            allowsPlaintextAuthentication: parts[0] == "127.0.0.1" || parts[0] == "localhost")
    }
}

/// `--data-dir`, shared by every command that opens the SQLite database.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory holding newsalert.sqlite. Env: NEWSALERT_DATA_DIR. Default: ./data")
    var dataDirectory: String?

    var resolved: String {
        dataDirectory ?? (try? Settings())?[.dataDirectory] ?? "./data"
    }
}
