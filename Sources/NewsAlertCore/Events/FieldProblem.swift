/// One thing wrong with one field of a request, e.g. `headline`: "must not be empty".
public struct FieldProblem: Codable, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

/// Input that failed validation, with every problem found (not just the first).
public struct ValidationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [FieldProblem]

    public init(_ problems: [FieldProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
