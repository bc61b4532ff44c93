import ArgumentParser
import NewsAlertStore

/// `newsalert keys create`: API keys for the newsroom API.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage newsroom API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; the key is printed once, alone on the last line, and stored only as a hash.")

        @OptionGroup var data: DataDirectoryOption
        @Option(help: "editor (publish, correct, kill) or admin (also manage subscribers).") var role: APIRole
        @Option(help: "A note saying who or what uses the key.") var label: String?
        @Option(help: "The key holder's name as the console and recorded decisions show it, e.g. \"Rana (night desk)\".") var name: String?

        func run() async throws {
            let database = try AppDatabase.open(directory: data.resolved)
            let key = try database.createAPIKey(role: role, label: label, displayName: name)
            printLine("created \(key.role.rawValue) key \(key.id) in \(data.resolved) (shown once; keep it secret)")
            printLine(key.secret)
        }
    }
}

extension APIRole: ExpressibleByArgument {}
