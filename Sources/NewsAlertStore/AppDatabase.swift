import Foundation
import GRDB

/// newsalert's SQLite database: owns the connection pool and migrates the schema on open.
///
/// Constraints (keys, uniqueness, checks) live in the schema, so no code path can break them.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) `directory/newsalert.sqlite` in WAL mode and migrates it.
    public static func open(directory: String) throws -> AppDatabase {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL + NORMAL survives process crashes; Kafka, not this file, is the record of what was published.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: (directory as NSString).appendingPathComponent("newsalert.sqlite"), configuration: configuration)
        return try AppDatabase(pool)
    }

    /// An in-memory database, for tests.
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue())
    }

    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: api keys, idempotency, event log") { db in
            try db.create(table: "api_key") { table in
                table.column("id", .text).primaryKey()
                table.column("role", .text).notNull().check(sql: "role IN ('editor', 'admin')")
                table.column("secret_hash", .text).notNull().unique()
                table.column("label", .text)
                table.column("created_at", .datetime).notNull()
                table.column("revoked_at", .datetime)
            }
            try db.create(table: "idempotency_record") { table in
                table.column("api_key_id", .text).notNull().references("api_key", onDelete: .cascade)
                table.column("key", .text).notNull()
                table.column("request_hash", .text).notNull()
                table.column("state", .text).notNull().check(sql: "state IN ('pending', 'done')")
                table.column("response_status", .integer)
                table.column("response_body", .blob)
                table.column("created_at", .datetime).notNull()
                table.primaryKey(["api_key_id", "key"])
            }
            try db.create(table: "news_event") { table in
                table.column("id", .text).primaryKey()
                table.column("payload", .blob).notNull()
                table.column("kind", .text).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('usable', 'withheld', 'canceled')")
                table.column("supersedes", .text).indexed()
                table.column("topic", .text).notNull()
                table.column("partition", .integer).notNull()
                table.column("offset", .integer).notNull()
                table.column("received_at", .datetime).notNull().indexed()
                table.column("api_key_id", .text)
                table.column("story_id", .text)
                table.column("enrichment", .blob)
                table.column("alerts_delivered", .integer).notNull().defaults(to: 0)
                table.uniqueKey(["topic", "partition", "offset"])
            }
        }
        migrator.registerMigration("v2: enrich state and dedup outcomes") { db in
            // One row: the story index of the enrich stage, replaced after each accepted event.
            try db.create(table: "story_index") { table in
                table.column("id", .integer).primaryKey().check(sql: "id = 1")
                table.column("snapshot", .blob).notNull()
                table.column("updated_at", .datetime).notNull()
            }
            try db.alter(table: "news_event") { table in
                table.add(column: "dedup_outcome", .text)
            }
        }
        return migrator
    }
}
