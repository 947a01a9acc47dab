import Foundation
import GRDB
import NodeHTTP
import NodeRuntime
import Replica
import Testnets

/// A survey-response-shaped row (~8 columns) used by benchmarks, the crash test and the demo.
package enum SurveyShape {
    package static let table = "surveyResponse"

    package static let declaration = TableDeclaration(
        name: table,
        columns: [
            ColumnDeclaration("templateId", .text),
            ColumnDeclaration("templateVersion", .integer),
            ColumnDeclaration("patientId", .text),
            ColumnDeclaration("wardId", .text),
            ColumnDeclaration("mode", .text),
            ColumnDeclaration("staffId", .text),
            ColumnDeclaration("submittedAt", .text),
            ColumnDeclaration("answers", .text),
        ], rowPolicy: .appendOnly)

    package static let policies: PolicySet = try! PolicySet(tables: [declaration])

    package static let modes = ["bedside", "phone", "sms", "kiosk"]

    /// Column values for row number `index`, deterministic.
    package static func values(index: Int) -> [DatabaseValue] {
        let score = index % 11
        return [
            "TPL-INPATIENT-2026".databaseValue,
            3.databaseValue,
            "PAT-\(String(format: "%07d", index % 250_000))".databaseValue,
            "WARD-\(index % 24)".databaseValue,
            modes[index % 4].databaseValue,
            "STAFF-\(index % 60)".databaseValue,
            "2026-11-\(String(format: "%02d", 1 + index % 28))T10:\(String(format: "%02d", index % 60)):00+08:00".databaseValue,
            "{\"q1\":\(1 + index % 5),\"q2\":\(1 + (index / 5) % 5),\"nps\":\(score),\"q4\":[\"clean\",\"staff\"],\"comment\":\"\"}".databaseValue,
        ]
    }

    /// Column values for row number `index`, by column name (as `tx.insert` takes them).
    package static func namedValues(index: Int) -> [String: DatabaseValue] {
        Dictionary(uniqueKeysWithValues: zip(declaration.columns.map(\.name), values(index: index)))
    }

    /// A ULID-like, time-ordered key for row `index` of an origin, bound to the origin as a ward
    /// node binds the ids of append-only rows (``BoundRowID``).
    package static func key(index: Int, origin: NodeID, baseMilliseconds: UInt64) -> String {
        let time = String(baseMilliseconds + UInt64(index), radix: 32).uppercased()
        let tail = String(origin.rawValue % 1_000_000, radix: 32).uppercased()
        let base = String(repeating: "0", count: max(0, 10 - time.count)) + time + "-" + tail + "-" + String(index, radix: 32).uppercased()
        return BoundRowID.bind(base, toNode: origin)
    }

    /// Row number `index` of an origin: its key and values.
    package static func row(index: Int, origin: NodeID, baseMilliseconds: UInt64) -> (table: String, key: String, values: [DatabaseValue]) {
        (table, key(index: index, origin: origin, baseMilliseconds: baseMilliseconds), values(index: index))
    }

    /// The clock reading row number `index` is written at.
    package static func hlc(index: Int, baseMilliseconds: UInt64) -> HLC {
        HLC(milliseconds: baseMilliseconds + UInt64(index), counter: 0)
    }
}
