import GRDB
import Replica

/// A page ready to write: the rows it created already as COPY text, built on a pool thread
/// while the page after it is read and the one before it written (`ArchiveWriter.prepareAhead`;
/// building the text is about a quarter of reading a page).
struct PreparedPage: Sendable {
    /// The page.
    let page: ArchivePage
    /// Per table of the page, in its order: the rows the page created (``ArchivePage/Row/isNew``)
    /// that it still holds, as COPY text in ``ArchiveTable/copyColumns`` order.
    let created: [CopyText]

    init(_ page: ArchivePage, schema: ArchiveSchema, hospital: String) {
        self.page = page
        created = page.tables.map { declaration, rows in
            guard let table = schema.table(named: declaration.name) else { return CopyText() }
            return CopyText(rows: rows.filter { $0.isNew && $0.values != nil }, of: table, hospital: hospital)
        }
    }
}

extension CopyText {
    /// `rows` (those with values) as COPY text in ``ArchiveTable/copyColumns`` order.
    init(rows: [ArchivePage.Row], of table: ArchiveTable, hospital: String) {
        self.init()
        reserve(rows.reduce(0) { $0 + $1.byteCount + 8 * table.columns.count + 96 })
        let hospital = Self.escaped(hospital)
        // A page's rows come from a handful of origins: each one's hex is escaped once.
        var origins: [NodeID: [UInt8]] = [:]
        for row in rows {
            guard let values = row.values else { continue }
            appendField(row.key.databaseValue, as: .text)
            for column in table.columns { appendField(column.index < values.count ? values[column.index] : .null, as: column.declared) }
            appendEscapedField(hospital)
            if let origin = origins[row.origin] {
                appendEscapedField(origin)
            } else {
                let origin = Self.escaped(row.origin.description)
                origins[row.origin] = origin
                appendEscapedField(origin)
            }
            appendField(Int64(clamping: row.seq).databaseValue, as: .integer)
            appendField(Int64(clamping: row.stampMilliseconds).databaseValue, as: .integer)
            endRow()
        }
    }
}
