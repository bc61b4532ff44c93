/// Interns strings (folded tags, entities, country codes, keyword words) as small integer ids.
///
/// Rules then hold 4-byte ids instead of strings, and an event value unknown to the dictionary is known to match
/// no rule without further work. Ids are never reused; the dictionary only grows, bounded by the vocabulary.
struct TermDictionary: Sendable {
    private var ids: [String: Int32] = [:]

    var count: Int { ids.count }

    mutating func intern(_ term: String) -> Int32 {
        if let id = ids[term] { return id }
        let id = Int32(ids.count)
        ids[term] = id
        return id
    }

    func id(of term: String) -> Int32? {
        ids[term]
    }
}
