/// An event turned into what compiled rules compare against: bit masks, interned ids and folded words.
///
/// Prepared once per event, then shared by every rule checked against it.
struct PreparedEvent: Sendable {
    /// An event value with its interned id (or bit position) and its text for explanations.
    struct Value: Sendable {
        let key: Int32
        let text: String
    }

    let sections: [Value]
    let regions: [Value]
    let countries: [Value]
    let tags: [Value]
    let entities: [Value]
    let sectionMask: UInt32
    let regionMask: UInt32
    let kindMask: UInt32
    let kind: NewsKind
    let urgency: Int
    let text: KeywordText

    /// Prepares `event` against `terms`; values no rule mentions are left out.
    init(_ event: MatchableEvent, terms: TermDictionary) {
        sections = Self.enumerated(event.sections)
        regions = Self.enumerated(event.regions)
        sectionMask = CompiledRule.mask(event.sections)
        regionMask = CompiledRule.mask(event.regions)
        kindMask = CompiledRule.mask([event.kind])
        kind = event.kind
        urgency = event.urgency.rawValue
        countries = Self.interned(event.countries.map { $0.uppercased() }, fold: { $0 }, terms: terms)
        tags = Self.interned(event.tags, fold: KeywordText.fold, terms: terms)
        entities = Self.interned(event.entities, fold: KeywordText.fold, terms: terms)
        text = KeywordText(event.text)
    }

    private static func enumerated<Name: CaseIterable & Equatable & RawRepresentable>(_ names: [Name]) -> [Value] where Name.RawValue == String {
        var result: [Value] = []
        for name in names {
            let key = Int32(CompiledRule.bitIndex(name))
            if !result.contains(where: { $0.key == key }) { result.append(Value(key: key, text: name.rawValue)) }
        }
        return result
    }

    private static func interned(_ values: [String], fold: (String) -> String, terms: TermDictionary) -> [Value] {
        var result: [Value] = []
        for value in values {
            guard let key = terms.id(of: fold(value)), !result.contains(where: { $0.key == key }) else { continue }
            result.append(Value(key: key, text: value))
        }
        return result
    }
}
