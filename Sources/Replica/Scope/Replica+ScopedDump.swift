import Foundation
import GRDB

extension Replica {
    /// The rows a ward node of `scope` must hold, as central sees them now, in
    /// ``canonicalDump()``'s form without the vector line; `nil`: the rows this node holds of the
    /// tables a ward may hold. When a ward node and central converged, the ward's
    /// `scopedDump(for: nil)` equals central's `scopedDump(for: wardScope)` (tests and testnets
    /// compare them).
    public func scopedDump(for scope: FeedScope?) throws -> ReplicaDump {
        try writer.read { db in
            let view = try scope.map { try ScopeView($0, policies: policies, now: wallClock.now(), db) }
            var lines: [String] = []
            for declaration in policies.tables where declaration.hold != nil {
                guard let table = tables[declaration.name] else { continue }
                for row in try Row.fetchAll(db, sql: declaration.dumpSQL) {
                    if let view {
                        let rowKey: String = row[declaration.primaryKey]
                        let values = declaration.columns.map { row[$0.name] as DatabaseValue }
                        let meta = Array((row["_sf_meta"] as Data?) ?? Data())
                        let author = (try? RowMetaCodec.decode(meta, values: values, policies: table.policies)).flatMap(Self.author)
                        guard view.holds(declaration, key: rowKey, values: values, author: author) else { continue }
                    }
                    lines.append("\(declaration.name) \(row.description)")
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM _sf_conflict ORDER BY tbl, pk, col") {
                let table: String = row["tbl"]
                guard let declaration = policies.table(named: table), declaration.hold != nil else { continue }
                if let view {
                    guard let stored = try self.tables[table].flatMap({ try RowStore(db: db, gate: gate, buriedTables: buriedTables).load($0, key: row["pk"]) }),
                        view.holds(declaration, key: row["pk"], values: stored.values, author: nil)
                    else { continue }
                }
                lines.append("conflict \(row.description)")
            }
            return ReplicaDump(lines.joined(separator: "\n"))
        }
    }

    /// The one origin that wrote an append-only row (its columns share one stamp).
    static func author(_ row: RowState) -> NodeID? {
        for column in row.columns {
            if case .register(let stamp) = column.meta, stamp.seq > 0 { return stamp.origin }
        }
        return nil
    }
}
