import Foundation

/// Finding and reading scripts on disk.
public enum SQLLogicTestFiles {
    /// The corpus in this repository (Tests/Corpus/sqllogictest: select1–5 and evidence/),
    /// found from this source file so tests and the command line work from any directory.
    public static let corpusDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Script/, SQLLogicTestKit/, Tests/
        return url.appendingPathComponent("Corpus/sqllogictest").path
    }()

    /// The scripts named: a file as given, a directory's `*.test` files at any depth. Sorted by
    /// path within each directory, so runs and reports come in the same order every time.
    public static func collect(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let fileManager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let found = (fileManager.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".test") }
                .sorted()
            files += found.map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }

    /// Reads and parses one script.
    public static func load(_ path: String) throws -> SQLLogicTestScript {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try SQLLogicTestParser.parse(String(decoding: data, as: UTF8.self), path: path)
    }
}
