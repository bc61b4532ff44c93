import ArgumentParser
import NewsAlertServices

/// `newsalert enrich`: the enrich role (and the HTTP endpoints every role serves), against a Kafka cluster.
struct EnrichCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrich",
        abstract: "Run the enrich stage: news.events → enrichment + story threading → news.enriched.",
        discussion: """
            Poison records go to news.deadletter. The story index is kept in the data directory's SQLite file.
            Serves /healthz, /readyz and /metrics on --port (a free port unless --port or NEWSALERT_PORT is set).
            """)

    @OptionGroup var node: NodeOptions
    @Option(help: "Consumer group id.") var group: String = "newsalert-enrich"

    func run() async throws {
        try await node.run(roles: [.enrich], label: "enrich", portWhenUnset: 0) { options in
            options.enrich.groupID = group
        }
    }
}
