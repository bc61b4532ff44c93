/// A set of rule slots as one bit each: the index's candidates for one event.
///
/// Marking is a bit write per posting entry, a rule reached through several postings is kept once, and iteration
/// yields slots in ascending order, so rule data is read front to back.
struct SlotBitmap {
    private var words: [UInt64]

    init(slots: Int) {
        words = Array(repeating: 0, count: (slots + 63) / 64)
    }

    /// Number of slots in the set.
    var count: Int {
        words.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    mutating func insert(_ slots: [Int32]) {
        words.withUnsafeMutableBufferPointer { words in
            for slot in slots {
                words[Int(slot) >> 6] |= 1 << (UInt64(slot) & 63)
            }
        }
    }

    /// Calls `body` with each slot in the set, in ascending order.
    func forEachSlot(_ body: (Int32) -> Void) {
        for (index, word) in words.enumerated() where word != 0 {
            var remaining = word
            while remaining != 0 {
                body(Int32(index << 6 | remaining.trailingZeroBitCount))
                remaining &= remaining - 1
            }
        }
    }
}
