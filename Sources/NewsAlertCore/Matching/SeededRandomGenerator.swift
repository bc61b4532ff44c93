/// A small, fast, seeded random number generator (SplitMix64), so generated rules and events are reproducible.
public struct SeededRandomGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }

    /// An element, earlier ones much more likely (roughly Zipf-like), as news attention is.
    mutating func skewedElement<Element>(of elements: [Element]) -> Element {
        let unit = Double.random(in: 0..<1, using: &self)
        let index = min(elements.count - 1, Int(Double(elements.count) * unit * unit))
        return elements[index]
    }

    /// Up to `count` distinct elements drawn with `skewedElement`.
    mutating func skewedElements<Element: Equatable>(_ count: Int, of elements: [Element]) -> [Element] {
        var chosen: [Element] = []
        for _ in 0..<count * 3 where chosen.count < count {
            let element = skewedElement(of: elements)
            if !chosen.contains(element) { chosen.append(element) }
        }
        return chosen
    }

    /// An index into `weights`, chosen in proportion to the weights.
    mutating func weightedIndex(_ weights: [Double]) -> Int {
        var remaining = Double.random(in: 0..<weights.reduce(0, +), using: &self)
        for (index, weight) in weights.enumerated() {
            if remaining < weight { return index }
            remaining -= weight
        }
        return weights.count - 1
    }
}
