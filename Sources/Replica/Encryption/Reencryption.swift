import Foundation
import Sodium

extension ReplicaEncryption {
    /// Re-encrypts a replica's database file under another key, page by page, into `output`
    /// (fsynced). The replica must be closed and checkpointed: its WAL empty, no connection open.
    /// Every page is authenticated under this key before it is sealed under `newKey`; the first
    /// that fails stops the work and nothing is written over.
    /// - Returns: the number of pages.
    /// - Throws: ``ReplicaError`` `.tampered` naming the page, or a file error.
    public func reencrypt(databaseAt path: String, into output: String, under newKey: ReplicaEncryption) throws -> Int {
        let pageSize = vfs.layout.pageSize
        guard let input = FileHandle(forReadingAtPath: path) else { throw ReplicaError(.unsupportedSetting, "cannot read \(path)") }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600]),
            let sink = FileHandle(forWritingAtPath: output)
        else { throw ReplicaError(.unsupportedSetting, "cannot write \(output)") }
        defer { try? sink.close() }
        var page = [UInt8](repeating: 0, count: pageSize)
        var sealed = [UInt8](repeating: 0, count: pageSize)
        defer {
            Sodium.wipe(&page)
        }
        var number: UInt64 = 0
        while let chunk = try input.read(upToCount: pageSize), !chunk.isEmpty {
            number += 1
            guard chunk.count == pageSize else {
                throw ReplicaError(.tampered, "\(URL(fileURLWithPath: path).lastPathComponent) ends in part of a page (page \(number))")
            }
            page.withUnsafeMutableBytes { $0.copyBytes(from: chunk) }
            let context = PageContext(domain: EncryptedFile.databaseDomain, position: number)
            let opened = page.withUnsafeMutableBytes { vfs.cipher.open($0.baseAddress!, pageBytes: pageSize, context: context) }
            guard opened else {
                throw ReplicaError(
                    .tampered, "page \(number) of \(URL(fileURLWithPath: path).lastPathComponent) failed authentication: nothing was re-encrypted")
            }
            page.withUnsafeBytes { plain in
                sealed.withUnsafeMutableBytes { newKey.vfs.cipher.seal(plain.baseAddress!, into: $0.baseAddress!, pageBytes: pageSize, context: context) }
            }
            try sink.write(contentsOf: sealed)
        }
        try sink.synchronize()
        return Int(number)
    }
}
