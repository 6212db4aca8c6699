import CEditLine
import Foundation
import SQLShell
#if canImport(Glibc)
import Glibc
#endif

/// Line editing, history and tab completion through libedit's readline-compatible callback
/// interface: one poll loop watches the terminal and the shell's interrupt pipe, so Ctrl-C at the
/// prompt abandons the line at once (the signal itself is taken by a dispatch source, which writes
/// to the pipe; libedit never sees it).
///
/// libedit keeps its state in globals and calls back through C function pointers, so there is one
/// editor per process and it is used from one thread at a time (`readLine` blocks that thread).
final class LineEditor: @unchecked Sendable {
    enum Input: Equatable {
        case line(String)
        /// Ctrl-C at the prompt.
        case interrupted
        /// Ctrl-D on an empty line, or the terminal went away.
        case endOfInput
    }

    /// How many entries the history file keeps.
    static let historyEntriesMax: Int32 = 2_000

    private let historyPath: String?
    private let interruptPipe: (read: Int32, write: Int32)

    /// `historyPath` nil: no history file.
    init(historyPath: String?) {
        self.historyPath = historyPath
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        for fd in fds where fd >= 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        interruptPipe = (fds[0], fds[1])
        using_history()
        stifle_history(Self.historyEntriesMax)
        if let historyPath { _ = read_history(historyPath) }
        meshdb_rl_configure("meshdb", Completion.wordBreaks) { text, _, _ in
            meshdb_rl_completion_over()
            let before = EditorState.pendingText + lineBeforeCursor()
            EditorState.matches = EditorState.completion.candidates(textBeforeCursor: before)
            EditorState.matchIndex = 0
            return rl_completion_matches(text) { _, _ in
                guard EditorState.matchIndex < EditorState.matches.count else { return nil }
                defer { EditorState.matchIndex += 1 }
                return strdup(EditorState.matches[EditorState.matchIndex])
            }
        }
    }

    /// Wakes a `readLine` in progress as Ctrl-C does; safe from any thread.
    func interrupt() {
        var byte: UInt8 = 3
        _ = write(interruptPipe.write, &byte, 1)
    }

    /// Reads one line with `prompt`; `pendingText` is the statement typed on earlier lines, which
    /// completion looks at (the columns of a table named there).
    func readLine(prompt: String, pendingText: String, completion: Completion) -> Input {
        EditorState.pendingText = pendingText.isEmpty ? "" : pendingText + "\n"
        EditorState.completion = completion
        EditorState.result = nil
        drainInterrupts()
        rl_callback_handler_install(prompt) { line in
            if let line {
                EditorState.result = .line(String(cString: line))
                free(line)
            } else {
                EditorState.result = .endOfInput
            }
        }
        defer { rl_callback_handler_remove() }
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: interruptPipe.read, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return .endOfInput
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                drainInterrupts()
                meshdb_rl_clear_line()
                fputs("\n", meshdb_stdout())
                fflush(meshdb_stdout())
                return .interrupted
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                rl_callback_read_char()
                if let result = EditorState.result {
                    return result
                }
            }
        }
    }

    /// Adds an entry (a whole statement, newlines and all) to the history and saves the file.
    func remember(_ entry: String) {
        guard !entry.isEmpty else { return }
        _ = add_history(entry)
        if let historyPath { _ = write_history(historyPath) }
    }

    private func drainInterrupts() {
        var byte: UInt8 = 0
        while read(interruptPipe.read, &byte, 1) > 0 {}
    }
}

/// The text of the current line up to the cursor.
private func lineBeforeCursor() -> String {
    guard let buffer = meshdb_rl_line_buffer() else { return "" }
    let utf8 = Array(String(cString: buffer).utf8)
    return String(decoding: utf8.prefix(Int(max(0, meshdb_rl_point()))), as: UTF8.self)
}

/// What libedit's C callbacks read and write: touched only by the thread inside `readLine`.
private enum EditorState {
    nonisolated(unsafe) static var pendingText = ""
    nonisolated(unsafe) static var completion = Completion()
    nonisolated(unsafe) static var matches: [String] = []
    nonisolated(unsafe) static var matchIndex = 0
    nonisolated(unsafe) static var result: LineEditor.Input?
}
