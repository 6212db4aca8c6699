extension FrontendMessage {
    /// The message as a client sends it: for tests, the fuzzer and Swift tools speaking to a server.
    public var encoded: [UInt8] {
        var body = WireWriter()
        var type: Character?
        switch self {
        case .startup(let parameters):
            body.int32(Self.protocolVersion30)
            for (name, value) in parameters {
                body.cString(name)
                body.cString(value)
            }
            body.uint8(0)
        case .sslRequest: body.int32(Self.sslRequestCode)
        case .gssEncryptionRequest: body.int32(Self.gssEncryptionRequestCode)
        case .cancelRequest(let processID, let secretKey):
            body.int32(Self.cancelRequestCode)
            body.int32(processID)
            body.int32(secretKey)
        case .query(let sql):
            type = "Q"
            body.cString(sql)
        case .parse(let statement, let query, let types):
            type = "P"
            body.cString(statement)
            body.cString(query)
            body.int16(Int16(clamping: types.count))
            for oid in types { body.int32(oid) }
        case .bind(let bind):
            type = "B"
            body.cString(bind.portal)
            body.cString(bind.statement)
            body.int16(Int16(clamping: bind.parameterFormats.count))
            for format in bind.parameterFormats { body.int16(format) }
            body.int16(Int16(clamping: bind.parameters.count))
            for parameter in bind.parameters {
                if let parameter {
                    body.int32(Int32(clamping: parameter.count))
                    body.raw(parameter)
                } else {
                    body.int32(-1)
                }
            }
            body.int16(Int16(clamping: bind.resultFormats.count))
            for format in bind.resultFormats { body.int16(format) }
        case .describe(let target, let name), .close(let target, let name):
            if case .describe = self { type = "D" } else { type = "C" }
            body.uint8(target.rawValue)
            body.cString(name)
        case .execute(let portal, let rowLimit):
            type = "E"
            body.cString(portal)
            body.int32(rowLimit)
        case .sync: type = "S"
        case .flush: type = "H"
        case .terminate: type = "X"
        case .password(let password):
            type = "p"
            body.cString(password)
        case .saslInitialResponse(let mechanism, let data):
            type = "p"
            body.cString(mechanism)
            if let data {
                body.int32(Int32(clamping: data.count))
                body.raw(data)
            } else {
                body.int32(-1)
            }
        case .saslResponse(let data):
            type = "p"
            body.raw(data)
        case .copyData(let data):
            type = "d"
            body.raw(data)
        case .copyDone: type = "c"
        case .copyFail(let reason):
            type = "f"
            body.cString(reason)
        }
        var bytes: [UInt8] = []
        if let type { bytes.append(type.asciiValue!) }
        var length = WireWriter()
        length.int32(Int32(body.bytes.count + 4))
        return bytes + length.bytes + body.bytes
    }
}
