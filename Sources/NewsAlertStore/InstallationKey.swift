import Foundation
import GRDB

extension AppDatabase {
    /// The installation's random 32-byte key for signed links, created on first use.
    public func linkKey() async throws -> Data {
        try await writer.write { db in
            if let key = try Data.fetchOne(db, sql: "SELECT link_key FROM installation WHERE id = 1") { return key }
            var generator = SystemRandomNumberGenerator()
            let key = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            try db.execute(sql: "INSERT INTO installation (id, link_key) VALUES (1, ?)", arguments: [key])
            return key
        }
    }
}
