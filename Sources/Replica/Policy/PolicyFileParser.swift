/// Parses the policy file format.
///
/// ```
/// # A comment.
/// table complaint
///   key id
///   column status text lifecycle registered accepted investigating handled closed
///   column department text
///   column contactPhone text keep-both
///
/// table surveyResponse append-only
///   key id
///   write central ward callcenter
///   no-delete
///   owned-by wardId
///   column wardId text
///   column answers text not null
/// ```
///
/// `write` names the roles of node that may write the table's rows (default: every role);
/// `no-delete` refuses deletes; `owned-by COLUMN` names the text column holding the ward a row
/// belongs to (a ward node writes such rows only for its certificate's wards); `not null` after a
/// column's type refuses NULL in every write. `hold ...` says which rows a ward node holds
/// (``HoldRule``; none without it) and `scope-root ...` which patients (``PatientScopeRoot``).
/// A `table` line opens a table (`append-only` makes its rows immutable); `key`
/// names its TEXT primary key (default `id`); each `column` line gives a name,
/// a type (`text`, `integer`, `real`, `blob`) and an optional policy
/// (default `last-writer-wins`). Indentation is free; `#` starts a comment.
struct PolicyFileParser {
    let file: String

    func parse(_ text: String) throws(PolicyFileError) -> [(TableDeclaration, line: Int)] {
        var tables: [(TableDeclaration, line: Int)] = []
        var current: (TableDeclaration, line: Int, keySeen: Bool)?
        var writeSeen = false, noDeleteSeen = false

        func finish() throws(PolicyFileError) {
            guard let open = current else { return }
            if open.0.columns.isEmpty {
                throw fail(open.line, "table '\(open.0.name)' declares no columns")
            }
            if let owner = open.0.ownerColumn {
                guard let index = open.0.columnIndex(owner) else {
                    throw fail(open.line, "table '\(open.0.name)' is owned-by '\(owner)', which it does not declare")
                }
                guard open.0.columns[index].type == .text, open.0.columns[index].policy == .lastWriterWins else {
                    throw fail(open.line, "table '\(open.0.name)' is owned-by '\(owner)', which must be a last-writer-wins text column")
                }
            }
            tables.append((open.0, open.line))
            current = nil
        }

        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "table":
                try finish()
                guard words.count == 2 || (words.count == 3 && words[2] == "append-only") else {
                    throw fail(lineNumber, "expected 'table NAME' or 'table NAME append-only'")
                }
                try checkIdentifier(words[1], line: lineNumber)
                if tables.contains(where: { $0.0.name == words[1] }) {
                    throw fail(lineNumber, "table '\(words[1])' is declared twice")
                }
                let declaration = TableDeclaration(name: words[1], columns: [], rowPolicy: words.count == 3 ? .appendOnly : .mutable)
                current = (declaration, lineNumber, false)
                writeSeen = false
                noDeleteSeen = false
            case "write":
                guard var open = current else { throw fail(lineNumber, "'write' outside a table") }
                guard !writeSeen else { throw fail(lineNumber, "'write' must come once per table") }
                guard words.count >= 2 else { throw fail(lineNumber, "expected 'write ROLE...' (central, ward, callcenter)") }
                var roles: Set<NodeRole> = []
                for word in words.dropFirst() {
                    guard let role = NodeRole(name: word) else {
                        throw fail(lineNumber, "unknown role '\(word)' (expected central, ward or callcenter)")
                    }
                    roles.insert(role)
                }
                open.0.writers = roles
                writeSeen = true
                current = open
            case "no-delete":
                guard var open = current else { throw fail(lineNumber, "'no-delete' outside a table") }
                guard words.count == 1, !noDeleteSeen else { throw fail(lineNumber, "expected 'no-delete' once, alone on its line") }
                open.0.deletable = false
                noDeleteSeen = true
                current = open
            case "owned-by":
                guard var open = current else { throw fail(lineNumber, "'owned-by' outside a table") }
                guard words.count == 2, open.0.ownerColumn == nil else { throw fail(lineNumber, "expected 'owned-by COLUMN' once per table") }
                try checkIdentifier(words[1], line: lineNumber)
                open.0.ownerColumn = words[1]
                current = open
            case "key":
                guard var open = current else { throw fail(lineNumber, "'key' outside a table") }
                guard words.count == 2 else { throw fail(lineNumber, "expected 'key NAME'") }
                guard !open.keySeen, open.0.columns.isEmpty else {
                    throw fail(lineNumber, "'key' must come once, before the columns")
                }
                try checkIdentifier(words[1], line: lineNumber)
                open.0.primaryKey = words[1]
                open.keySeen = true
                current = open
            case "column":
                guard var open = current else { throw fail(lineNumber, "'column' outside a table") }
                let column = try parseColumn(words, line: lineNumber)
                if column.name == open.0.primaryKey || open.0.columnIndex(column.name) != nil {
                    throw fail(lineNumber, "column '\(column.name)' is declared twice in table '\(open.0.name)'")
                }
                if open.0.rowPolicy == .appendOnly, column.policy != .lastWriterWins {
                    throw fail(
                        lineNumber,
                        "column '\(column.name)' has policy '\(column.policy.keyword)' but table '\(open.0.name)' is append-only: its rows never change, so a column policy contradicts it"
                    )
                }
                open.0.columns.append(column)
                current = open
            case "hold":
                guard var open = current else { throw fail(lineNumber, "'hold' outside a table") }
                guard open.0.hold == nil else { throw fail(lineNumber, "'hold' must come once per table") }
                open.0.hold = try parseHold(words, line: lineNumber)
                current = open
            case "scope-root":
                guard var open = current else { throw fail(lineNumber, "'scope-root' outside a table") }
                guard open.0.scopeRoot == nil else { throw fail(lineNumber, "'scope-root' must come once per table") }
                open.0.scopeRoot = try parseScopeRoot(words, table: open.0.name, line: lineNumber)
                current = open
            default:
                throw fail(
                    lineNumber, "unknown keyword '\(keyword)' (expected table, key, write, no-delete, owned-by, hold, scope-root or column)")
            }
        }
        try finish()
        return tables
    }

    private func parseColumn(_ words: [String], line: Int) throws(PolicyFileError) -> ColumnDeclaration {
        guard words.count >= 3 else { throw fail(line, "expected 'column NAME TYPE [not null] [POLICY]'") }
        try checkIdentifier(words[1], line: line)
        guard let type = ColumnType(rawValue: words[2]) else {
            throw fail(line, "unknown type '\(words[2])' (expected text, integer, real or blob)")
        }
        var policyWords = Array(words.dropFirst(3))
        let notNull = policyWords.starts(with: ["not", "null"])
        if notNull { policyWords.removeFirst(2) }
        let policy: ColumnPolicy
        switch policyWords.first {
        case nil, "last-writer-wins": policy = .lastWriterWins
        case "first-writer-wins": policy = .firstWriterWins
        case "max": policy = .maximum
        case "min": policy = .minimum
        case "keep-both": policy = .keepBoth
        case "add-wins-set": policy = .addWinsSet
        case "lifecycle":
            let states = Array(policyWords.dropFirst())
            guard states.count >= 2 else { throw fail(line, "a lifecycle needs at least two states") }
            guard Set(states).count == states.count else { throw fail(line, "a lifecycle lists a state twice") }
            guard type == .text else { throw fail(line, "a lifecycle column must be text") }
            policy = .lifecycle(states)
        case let other?:
            throw fail(line, "unknown policy '\(other)' (expected last-writer-wins, first-writer-wins, max, min, lifecycle, keep-both or add-wins-set)")
        }
        if policyWords.count > 1, case .lifecycle = policy {
        } else if policyWords.count > 1 {
            throw fail(line, "policy '\(policy.keyword)' takes no arguments")
        }
        if policy == .addWinsSet, type != .text {
            throw fail(line, "an add-wins-set column must be text (it holds a JSON array of strings)")
        }
        return ColumnDeclaration(words[1], type, policy, notNull: notNull)
    }

    private func parseHold(_ words: [String], line: Int) throws(PolicyFileError) -> HoldRule {
        switch (words.count, words.dropFirst().first) {
        case (2, "all"): return .all
        case (2, "author"): return .author
        case (3, "ward"):
            try checkIdentifier(words[2], line: line)
            return .ward(column: words[2])
        case (3, "patient"):
            try checkIdentifier(words[2], line: line)
            return .patient(column: words[2])
        default:
            throw fail(line, "expected 'hold all', 'hold author', 'hold ward COLUMN' or 'hold patient COLUMN'")
        }
    }

    private func parseScopeRoot(_ words: [String], table: String, line: Int) throws(PolicyFileError) -> PatientScopeRoot {
        let usage = "expected 'scope-root PATIENT ward WARD ended ENDED cancelled CANCELLED window TABLE.KEY.COLUMN DAYS'"
        guard words.count == 11, words[2] == "ward", words[4] == "ended", words[6] == "cancelled", words[8] == "window" else {
            throw fail(line, usage)
        }
        for index in [1, 3, 5, 7] { try checkIdentifier(words[index], line: line) }
        let window = words[9].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard window.count == 3, !window[1].isEmpty, let days = Int(words[10]), (0...3650).contains(days) else { throw fail(line, usage) }
        try checkIdentifier(window[0], line: line)
        try checkIdentifier(window[2], line: line)
        return PatientScopeRoot(
            table: table, patientColumn: words[1], wardColumn: words[3], endedColumn: words[5], cancelledColumn: words[7],
            windowTable: window[0], windowKey: window[1], windowColumn: window[2], defaultWindowDays: days)
    }

    private func checkIdentifier(_ name: String, line: Int) throws(PolicyFileError) {
        let utf8 = Array(name.utf8)
        let isLetter = { (byte: UInt8) in (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) }
        let isDigit = { (byte: UInt8) in byte >= 48 && byte <= 57 }
        guard let first = utf8.first, isLetter(first),
            utf8.count <= 64,
            utf8.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
        else {
            throw fail(line, "'\(name)' is not a valid name (a letter, then letters, digits or _ ; at most 64)")
        }
        if name.lowercased().hasPrefix("sqlite_") || name.hasPrefix("_sf") {
            throw fail(line, "'\(name)' uses a reserved prefix")
        }
    }

    private func fail(_ line: Int, _ problem: String) -> PolicyFileError {
        PolicyFileError(file: file, line: line, problem: problem)
    }
}
