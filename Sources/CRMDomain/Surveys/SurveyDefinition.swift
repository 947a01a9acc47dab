import Foundation

/// The questions of one template version.
public struct SurveyDefinition: Codable, Sendable, Hashable {
    public var questions: [Question]

    public init(questions: [Question]) {
        self.questions = questions
    }

    /// One question.
    public struct Question: Codable, Sendable, Hashable {
        public var id: String
        public var text: String
        public var type: QuestionType
        public var options: [Option]?
        public var required: Bool?
        /// Ask only when an earlier question's answer is one of `equals` (simple skip logic).
        public var showIf: Condition?
        /// Marks the question statistics read: `overall` (a 1–5 scale) or `recommend` (0–10).
        public var role: Role?
        public var maxLength: Int?

        public init(
            id: String, text: String, type: QuestionType, options: [Option]? = nil, required: Bool? = nil,
            showIf: Condition? = nil, role: Role? = nil, maxLength: Int? = nil
        ) {
            self.id = id
            self.text = text
            self.type = type
            self.options = options
            self.required = required
            self.showIf = showIf
            self.role = role
            self.maxLength = maxLength
        }
    }

    public enum QuestionType: String, Codable, Sendable {
        /// One option.
        case single
        /// Any number of options.
        case multiple
        /// 1 to 5.
        case scale5
        /// 0 to 10, likelihood to recommend.
        case nps
        /// Free text.
        case text
    }

    public enum Role: String, Codable, Sendable { case overall, recommend }

    public struct Option: Codable, Sendable, Hashable {
        public var value: String
        public var label: String

        public init(value: String, label: String) {
            self.value = value
            self.label = label
        }
    }

    public struct Condition: Codable, Sendable, Hashable {
        public var question: String
        public var equals: [String]

        public init(question: String, equals: [String]) {
            self.question = question
            self.equals = equals
        }
    }

    /// Checks the definition itself; errors name the question.
    func validate() throws(CRMError) {
        guard !questions.isEmpty, questions.count <= 100 else { throw .invalid("a template has 1–100 questions") }
        var seen = Set<String>()
        var roles = Set<Role>()
        for question in questions {
            guard ASCIIIdentifier(punctuation: "_", length: 1...32).admits(question.id) else {
                throw .invalid("question ids are 1–32 of A-Z, a-z, 0-9 or '_'")
            }
            guard seen.insert(question.id).inserted else { throw .unprocessable("question '\(question.id)' appears twice") }
            guard !question.text.isEmpty, question.text.count <= 500 else { throw .invalid("question '\(question.id)': text must be 1–500 characters") }
            if let maxLength = question.maxLength, !(1...2000).contains(maxLength) {
                throw .invalid("question '\(question.id)': maxLength must be 1–2000")
            }
            switch question.type {
            case .single, .multiple:
                guard let options = question.options, !options.isEmpty, options.count <= 30,
                    Set(options.map(\.value)).count == options.count
                else {
                    throw .unprocessable("question '\(question.id)': a choice question needs 1–30 options with distinct values")
                }
            case .scale5, .nps, .text:
                guard question.options == nil else { throw .unprocessable("question '\(question.id)': only choice questions have options") }
            }
            if let role = question.role {
                guard roles.insert(role).inserted else { throw .unprocessable("only one question may have role '\(role.rawValue)'") }
                guard (role == .overall && question.type == .scale5) || (role == .recommend && question.type == .nps) else {
                    throw .unprocessable("question '\(question.id)': role 'overall' needs a scale5 question, 'recommend' an nps question")
                }
            }
            if let condition = question.showIf {
                guard seen.contains(condition.question), condition.question != question.id else {
                    throw .unprocessable("question '\(question.id)': showIf must name an earlier question")
                }
            }
        }
    }

    /// Checks answers against this version. Hidden questions must not be answered; shown required
    /// ones must. Errors name the question, never the answer.
    func validate(answers: [String: JSONValue]) throws(CRMError) {
        let known = Set(questions.map(\.id))
        if let unknown = answers.keys.sorted().first(where: { !known.contains($0) }) {
            throw .unprocessable("answers: '\(CRMError.safeID(unknown))' is not a question of this template version")
        }
        for question in questions {
            let answer = answers[question.id].flatMap { $0 == .null ? nil : $0 }
            if let condition = question.showIf {
                let shown: Bool =
                    switch answers[condition.question] {
                    case .string(let value): condition.equals.contains(value)
                    case .number(let value): condition.equals.contains(value.rounded() == value ? String(Int(value)) : String(value))
                    case .array(let values): values.contains { if case .string(let value) = $0 { condition.equals.contains(value) } else { false } }
                    default: false
                    }
                if !shown {
                    guard answer == nil else { throw .unprocessable("answers: question '\(question.id)' is skipped by the answer to '\(condition.question)'") }
                    continue
                }
            }
            guard let answer else {
                if question.required == true { throw .unprocessable("answers: question '\(question.id)' is required") }
                continue
            }
            try check(answer, for: question)
        }
    }

    private func check(_ answer: JSONValue, for question: Question) throws(CRMError) {
        let values = Set(question.options?.map(\.value) ?? [])
        switch (question.type, answer) {
        case (.single, .string(let value)) where values.contains(value):
            return
        case (.multiple, .array(let items)):
            let strings = items.compactMap { if case .string(let value) = $0 { value } else { nil } }
            guard strings.count == items.count, Set(strings).count == strings.count, strings.allSatisfy(values.contains) else { break }
            if question.required == true, strings.isEmpty { break }
            return
        case (.scale5, _) where answer.integer.map { (1...5).contains($0) } == true:
            return
        case (.nps, _) where answer.integer.map { (0...10).contains($0) } == true:
            return
        case (.text, .string(let text)) where text.count <= (question.maxLength ?? 2000):
            if question.required == true, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            return
        default:
            break
        }
        let expected =
            switch question.type {
            case .single: "one of its options"
            case .multiple: "a list of distinct options"
            case .scale5: "an integer from 1 to 5"
            case .nps: "an integer from 0 to 10"
            case .text: "text of at most \(question.maxLength ?? 2000) characters"
            }
        throw .unprocessable("answers: question '\(question.id)' needs \(expected)")
    }

    /// The answer to the question with `role`, as an integer.
    func score(_ role: Role, in answers: [String: JSONValue]) -> Int? {
        guard let question = questions.first(where: { $0.role == role }) else { return nil }
        return answers[question.id]?.integer
    }
}
