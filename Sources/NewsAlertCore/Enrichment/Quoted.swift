import Foundation

/// Formats words for reasons: `'a', 'b'`.
enum Quoted {
    /// "'drone strike', 'martyred'"; repeated words appear once.
    static func list(_ words: [String]) -> String {
        var seen = Set<String>()
        return words.filter { seen.insert($0).inserted }.map { "'\($0)'" }.joined(separator: ", ")
    }
}
