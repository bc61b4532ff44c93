import ArgumentParser
import Foundation
import NewsAlertServices

/// `newsalert serve`: every role in one process, on the embedded broker unless a cluster is given.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run newsalert: embedded broker (unless --bootstrap-servers), ingest API, newsroom console.",
        discussion: "Prints `bootstrap.servers=...` and `listening on http://...` once ready.")

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Address to listen on. Env: NEWSALERT_HOST.") var host: String?
    @Option(help: "Port to listen on (0 picks a free one). Env: NEWSALERT_PORT.") var port: Int?
    @Option(help: "Brokers of the embedded cluster.") var brokers: Int = 3
    @Option(help: "Replication factor for topics created on a real cluster.") var replicationFactor: Int = 3
    @Option(help: "Largest accepted request body in bytes.") var bodyLimit: Int = 256 * 1024

    func run() async throws {
        CommandLogging.bootstrap()
        let logger = CommandLogging.logger("serve")
        let environment = ProcessInfo.processInfo.environment
        var options = NewsAlertNode.Options()
        options.kafka = try kafka.resolvedBootstrapServers.map { try kafka.configuration(bootstrapServers: $0) }
        options.embeddedBrokers = brokers
        options.replicationFactor = replicationFactor
        options.host = host ?? environment["NEWSALERT_HOST"] ?? "127.0.0.1"
        options.port = port ?? environment["NEWSALERT_PORT"].flatMap(Int.init) ?? 8080
        options.dataDirectory = data.resolved
        options.ingest.bodyLimitBytes = bodyLimit
        let node = try await NewsAlertNode(options: options, logger: logger) { url in
            printLine("listening on \(url)")
        }
        printLine("bootstrap.servers=\(node.bootstrapServers)")
        printLine("data directory \(options.dataDirectory)")
        try await node.run(logger: logger)
    }
}

/// `--data-dir`, shared by every command that opens the SQLite database.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory holding newsalert.sqlite. Env: NEWSALERT_DATA_DIR. Default: ./data")
    var dataDirectory: String?

    var resolved: String {
        dataDirectory ?? ProcessInfo.processInfo.environment["NEWSALERT_DATA_DIR"] ?? "./data"
    }
}
