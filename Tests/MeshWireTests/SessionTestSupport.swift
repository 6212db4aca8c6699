import MeshDB
import QueryPlanner
@testable import MeshWire

/// Drives a `SessionStateMachine` the way the server shell does, for transcript-like tests.
struct SessionDriver {
    var machine: SessionStateMachine

    init(_ configure: (inout SessionStateMachine.Configuration) -> Void = { _ in }) {
        var configuration = SessionStateMachine.Configuration()
        configuration.processID = 7
        configuration.secretKey = 99
        configure(&configuration)
        machine = SessionStateMachine(configuration: configuration)
    }

    /// Sends `messages`; a session the machine asks to start opens at once, as the server's does
    /// when the startup settings are accepted.
    mutating func send(_ messages: FrontendMessage...) -> [SessionStateMachine.Action] {
        var actions = machine.bytesReceived(messages.flatMap(\.encoded))
        if actions.contains(where: { if case .startSession = $0 { true } else { false } }) {
            // As the session would settle them: the last value of each reported name.
            var reported: [String: String] = [:]
            for setting in machine.startupSettings where SessionStateMachine.clientReportedParameters[setting.name.lowercased()] != nil {
                reported[setting.name.lowercased()] = setting.value
            }
            actions += machine.sessionStarted(reported: reported)
        }
        return actions
    }

    /// Startup as user `meshdb` with trust; returns what the server sent.
    mutating func connect(user: String = "meshdb") -> [SessionStateMachine.Action] {
        send(.startup(parameters: [("user", user), ("database", "meshdb"), ("application_name", "tests")]))
    }
}

/// The backend messages of `actions`, in order.
func sent(_ actions: [SessionStateMachine.Action]) -> [BackendMessage] {
    actions.flatMap { action -> [BackendMessage] in
        if case .send(let messages) = action { return messages }
        return []
    }
}

/// The actions that are not sends.
func work(_ actions: [SessionStateMachine.Action]) -> [SessionStateMachine.Action] {
    actions.filter { if case .send = $0 { false } else { true } }
}

func errorState(_ messages: [BackendMessage]) -> String? {
    for message in messages {
        if case .errorResponse(let error, _) = message { return error.state.code }
    }
    return nil
}
